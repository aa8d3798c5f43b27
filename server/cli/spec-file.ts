import { readFile } from 'node:fs/promises';
import { CliFailure, fileErrorReason } from './output.ts';

/**
 * An evaluation spec file parsed (YAML, of which JSON is a part) but not validated. A syntax error is one line
 * naming the file: the yaml parser's own message goes on with a code frame.
 */
export async function readSpecFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read spec file ${file}: ${fileErrorReason(err)}`);
  }
  const { parse } = await import('yaml');
  try {
    return parse(text, { maxAliasCount: 100 });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new CliFailure(`spec file ${file} is neither valid YAML nor JSON: ${first}`);
  }
}
