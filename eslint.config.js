// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// DESIGN.md: dependencies point one way. ledger/, evaluators/, policies/ and regions/ know nothing of the
// server (the composition root) nor of each other's internals; reports/ may read ledger/ and evaluators/
// through their public index.ts only, and evaluators/categories.ts, which imports nothing (the index loads ONNX
// Runtime).
const serverImports = {
  group: ['**/server/**', 'fastify', 'fastify-*', '@fastify/*'],
  message: 'Only server/ composes modules; this module must not depend on the server (DESIGN.md).',
};
const internalsOf = (mod) => ({
  group: [`**/${mod}/*/**`, `!**/${mod}/index.ts`],
  message: `Import ${mod}/ through its index.ts only.`,
});

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.arbiter/', 'coverage/', 'bench/results/', 'tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['ledger/**/*.ts', 'evaluators/**/*.ts', 'policies/**/*.ts', 'regions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            serverImports,
            { group: ['**/reports/**'], message: 'reports/ sits above this module.' },
          ],
        },
      ],
    },
  },
  {
    files: ['reports/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [serverImports, internalsOf('ledger'), internalsOf('evaluators')] },
      ],
    },
  },
);
