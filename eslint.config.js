// Flat config: typescript-eslint's recommended rules over src/, test/ and bench/, plus the
// boundary of the pure core: src/core/** decides, it does no I/O (DESIGN: time and
// randomness are passed in), so it may not import node: I/O modules, undici, pino,
// prom-client, the shell, or send/mime-types/yaml.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const CORE_FORBIDDEN = {
  paths: [
    ...['fs', 'fs/promises', 'net', 'http', 'http2', 'https', 'tls', 'dgram', 'dns', 'dns/promises', 'child_process', 'cluster', 'worker_threads', 'os', 'process', 'stream', 'timers', 'timers/promises', 'crypto', 'zlib', 'readline', 'perf_hooks']
      .flatMap((m) => [`node:${m}`, m])
      .map((name) => ({ name, message: 'src/core is pure: I/O belongs to the shell; pass values in.' })),
    ...['undici', 'pino', 'prom-client', 'send', 'mime-types', 'yaml', 'iovalkey']
      .map((name) => ({ name, message: 'src/core is pure: libraries with side effects belong to the shell.' })),
  ],
  patterns: [{ group: ['**/shell/**', '../shell', '../shell/*'], message: 'src/core may not import the shell (imports flow shell -> core).' }],
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', fetch: 'readonly', AbortController: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': ['error', CORE_FORBIDDEN],
      '@typescript-eslint/no-restricted-imports': 'off',
    },
  },
)
