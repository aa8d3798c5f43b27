import { defineConfig } from 'vitest/config';

// Three tiers (STYLE.md): unit (pure, no I/O), integration (the machine's real PostgreSQL, then the same
// files again on embedded PGlite), e2e (the app through inject() and the CLI as a subprocess).
export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration-postgres',
          include: ['test/integration/**/*.test.ts'],
          env: { ARBITER_TEST_DB: 'postgres' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-pglite',
          include: ['test/integration/**/*.test.ts'],
          env: { ARBITER_TEST_DB: 'pglite' },
        },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
