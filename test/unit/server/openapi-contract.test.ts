import { describe, expect, it } from 'vitest';
import { loadOpenApi, operationsOf } from '../../../server/openapi.ts';

const ROLES = ['admin', 'ci', 'compliance_officer', 'auditor'];
const doc = loadOpenApi();
const operations = operationsOf(doc);

describe('openapi.yaml', () => {
  it('keeps every route closed unless it says otherwise', () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  describe.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))(
    '%s',
    (_name, { operation }) => {
      it('has an operationId', () => {
        expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      });

      it('declares its security and roles explicitly', () => {
        expect(operation.security, 'every operation states its own security').toBeDefined();
        for (const requirement of operation.security!) {
          for (const [scheme, roles] of Object.entries(requirement)) {
            expect(scheme).toBe('bearerAuth');
            expect(roles.length, 'a secured route names the roles allowed').toBeGreaterThan(0);
            for (const role of roles) expect(ROLES).toContain(role);
          }
        }
      });

      it('declares the refusals its input can draw', () => {
        const responses = operation.responses as Record<string, unknown>;
        const body = operation.requestBody as { content?: Record<string, unknown> } | undefined;
        const parameters = operation.parameters as unknown[] | undefined;
        // A body can be malformed, too large or of another type; a parameter can break its schema.
        if (body?.content?.['application/json'])
          expect(Object.keys(responses)).toEqual(expect.arrayContaining(['400', '413', '415']));
        if (parameters?.length) expect(Object.keys(responses)).toContain('400');
      });
    },
  );

  it('has unique operationIds', () => {
    const ids = operations.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
