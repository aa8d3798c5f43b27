import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../../server/config.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration variable', () => {
    for (const name of Object.keys(CONFIG_VARIABLES)) expect(readme, name).toContain(`\`${name}\``);
  });

  it('keeps the Quick start to the two commands that CI and a new user run', () => {
    const quickStart = readme.split('## Quick start')[1]!.split('```sh')[1]!.split('```')[0]!;
    const commands = quickStart.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    expect(commands.map((l) => l.split('#')[0]!.trim())).toEqual([
      'bash scripts/demo.sh',
      'bash scripts/test.sh',
    ]);
    expect(readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8')).toContain('scripts/test.sh');
  });
});
