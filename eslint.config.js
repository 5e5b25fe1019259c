import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.data/**', '**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(it|describe|test)$/][callee.property.name=/^(only|skip)$/]", message: 'no focused or skipped tests in main' },
      ],
      // The EventStoreDB client is imported in one module only, so switching packages is one file.
      'no-restricted-imports': [
        'error',
        {
          paths: ['@kurrent/kurrentdb-client', '@eventstore/db-client'].map((name) => ({
            name,
            message: 'import the EventStoreDB client through platform/src/event-store/eventstoredb/client.ts',
          })),
        },
      ],
    },
  },
  { files: ['platform/src/event-store/eventstoredb/client.ts'], rules: { 'no-restricted-imports': 'off' } },
);
