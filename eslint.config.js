import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'plugins/kafka/protocol/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // The host knows nothing of its plugins.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/plugins/**'] }],
    },
  },
  {
    // Command-line entry points, scripts, benchmarks and tests may print.
    files: ['bin/**', 'scripts/**', 'bench/**', 'test/**', 'plugins/*/scripts/**', 'src/cli/**'],
    languageOptions: { globals: globals.node },
    rules: { 'no-console': 'off' },
  },
);
