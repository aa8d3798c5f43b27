import { describe, expect, it } from 'vitest';
import { artifactLimitOf, EMBEDDED_ARTIFACT_MAX_BYTES } from '../../../server/service.ts';

describe('artifactLimitOf', () => {
  it('holds the embedded database to 64 MiB an artifact, and PostgreSQL to the configured limit', () => {
    const configured = 256 * 1024 ** 2;
    expect(artifactLimitOf('pglite', configured)).toBe(EMBEDDED_ARTIFACT_MAX_BYTES);
    expect(EMBEDDED_ARTIFACT_MAX_BYTES).toBe(64 * 1024 ** 2);
    expect(artifactLimitOf('pglite', 1024)).toBe(1024);
    expect(artifactLimitOf('postgres', configured)).toBe(configured);
  });
});
