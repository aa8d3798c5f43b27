import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export interface OpenApiOperation {
  operationId?: string;
  security?: Record<string, string[]>[];
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  [key: string]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** The HTTP contract, read fresh (callers may hand it to plugins that annotate what they are given). */
export function loadOpenApi(): OpenApiDocument {
  return parseYaml(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDocument;
}

/** Every operation of the contract with its method and path. */
export function operationsOf(
  doc: OpenApiDocument,
): { method: string; path: string; operation: OpenApiOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((method) => ({ method, path, operation: item[method]! })),
  );
}

/** An operation's request body as the contract declares it: the media types it accepts, whether it is required. */
export interface DeclaredBody {
  readonly required: boolean;
  readonly mediaTypes: ReadonlySet<string>;
}

/** The declared request bodies by `METHOD /path/:param` (fastify's route form of the contract's paths). */
export function declaredBodies(doc: OpenApiDocument): Map<string, DeclaredBody> {
  const bodies = new Map<string, DeclaredBody>();
  for (const { method, path, operation } of operationsOf(doc)) {
    const body = operation.requestBody as
      { required?: boolean; content?: Record<string, unknown> } | undefined;
    if (!body) continue;
    bodies.set(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`, {
      required: body.required === true,
      mediaTypes: new Set(Object.keys(body.content ?? {})),
    });
  }
  return bodies;
}
