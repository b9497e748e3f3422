import js from '@eslint/js'
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs'
import stylistic from '@stylistic/eslint-plugin'
import { defineConfig, globalIgnores } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  // Written by tools: prisma generate, openapi-typescript (npm run openapi), tsc.
  globalIgnores(['src/generated/', 'test/rest/openapi-client.d.ts', 'dist/']),
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  stylistic.configs.customize({ semi: false, braceStyle: '1tbs', commaDangle: 'never', quoteProps: 'as-needed', arrowParens: true, jsx: false }),
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true }
    },
    rules: {
      // The code is written in standard's style, Fastify's (neostandard, which sets it,
      // needs Node 22 with ESLint 10): where @stylistic's defaults differ, standard's,
      // with a union's `|` leading its line as the code writes it; the rules standard
      // lacks are off, as the code wraps lists, binary operands and one-line blocks freely.
      '@stylistic/space-before-function-paren': ['error', 'always'],
      '@stylistic/operator-linebreak': ['error', 'after', { overrides: { '?': 'before', ':': 'before', '|': 'before' } }],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'never' }],
      '@stylistic/generator-star-spacing': ['error', 'both'],
      '@stylistic/yield-star-spacing': ['error', 'both'],
      '@stylistic/indent': ['error', 2, { SwitchCase: 1, ignoredNodes: ['TemplateLiteral *', 'TSUnionType', 'TSIntersectionType'], offsetTernaryExpressions: true }],
      '@stylistic/indent-binary-ops': 'off',
      '@stylistic/list-style': 'off',
      '@stylistic/max-statements-per-line': 'off',
      '@eslint-community/eslint-comments/require-description': 'error',
      // Leaving a member out by destructuring the rest is how the code copies an object without it.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Fastify plugins and hooks, tap's subtests and the RPC methods' run() are async by
      // contract (the caller awaits what they return), whether or not they await anything.
      '@typescript-eslint/require-await': 'off',
      // tap awaits every subtest itself: `t.test(…)` needs no await.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' }]
      }]
    }
  },
  {
    files: ['test/**'],
    rules: {
      // Tests read what the server answers (inject().json(), JSON.parse, RPC results) as
      // `any` on purpose: their assertions are what check its shape.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  },
  {
    // Type-aware rules need TypeScript's view of a file; the few JavaScript files (bin/,
    // scripts/prisma-generate.mjs, this one) are outside tsconfig.json.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked]
  }
)
