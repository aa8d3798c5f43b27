import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Versions of the libraries whose behaviour the evidence depends on, read from their package.json files.
const PACKAGES = ['onnxruntime-node', 'csv-parse', 'hyparquet', 'protobufjs', 'canonicalize'];

async function versionOf(name: string): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.resolve(name)));
  for (let up = 0; up < 6; up++) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // keep walking up to the package root
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

let cached: Promise<Record<string, string>> | null = null;

export function libraryVersions(): Promise<Record<string, string>> {
  cached ??= (async () => {
    const entries = await Promise.all(PACKAGES.map(async (p) => [p, await versionOf(p)] as const));
    return { arbiter_evaluators: '1', node: process.versions.node, ...Object.fromEntries(entries) };
  })();
  return cached;
}
