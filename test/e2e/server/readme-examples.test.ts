import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.ts';

// README examples are copy-pasted by users: every `npx arbiter …` line must name a real command, and every
// flag it passes must be one that command takes.
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const GROUPS = new Set(['policy', 'report', 'token', 'ledger']);

const invocations = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((block) => block[1]!.replace(/\\\n\s*/g, ' ').split('\n'))
  .map((line) => line.trim())
  .filter((line) => line.startsWith('npx arbiter '))
  .map((line) => {
    const words = line.replace(/^npx arbiter /, '').split(/\s+/);
    const command = GROUPS.has(words[0]!) ? words.slice(0, 2) : words.slice(0, 1);
    const flags = words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!);
    return { line, command, flags };
  });

describe('README examples', () => {
  it('has examples to check', () => {
    expect(invocations.length).toBeGreaterThanOrEqual(6);
  });

  it.each(invocations.map((i) => [i.line, i] as const))('%s', async (_line, { command, flags }) => {
    const help = await runCli([...command, '--help']);
    expect(help.code, `arbiter ${command.join(' ')} --help`).toBe(0);
    for (const flag of flags)
      expect(help.stdout, `arbiter ${command.join(' ')} takes ${flag}`).toContain(flag);
  });
});
