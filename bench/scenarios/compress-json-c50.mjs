// Compression (issue #17 item 2): 50 connections asking for a 10 KiB JSON document
// (backends/json10k.mjs) with `Accept-Encoding: gzip`, compressed by the proxy: switchyard's
// route `compress` (zlib's async gzip stream on the thread pool) against nginx's `gzip on`,
// both at level 1 and 6 (the same zlib, so the same compressed size at the same level), and
// switchyard at its default level. direct is the uncompressed backend: the ceiling, not the
// same work. The note under the table gives every target's compressed size from the same run
// (bodySizes). Goal: switchyard >= 0.5x nginx at equal compressed size (level 1 vs level 1,
// 6 vs 6; paired). node-hello, haproxy and the others compress nothing and are left out.
// With BASE_DIST set (another build's dist/), `switchyard-base-gzip-1` is that build at gzip 1:
// a before/after of a compression change in the same run.
const nginxGzip = (level) => ({ kind: 'nginx', nginx: { http: `gzip on; gzip_comp_level ${level}; gzip_types application/json; gzip_min_length 1024; gzip_vary on;` } })
const switchyardGzip = (level) => ({ kind: 'switchyard', switchyard: `routes: [{ upstream: app, compress: ${level === null ? 'true' : `{ level: { gzip: ${level} } }`} }]` })

export default {
  name: 'compress json c50',
  path: '/json10k',
  connections: 50,
  headers: ['Accept-Encoding: gzip'],
  bodySizes: true,
  targets: ['direct', 'switchyard', 'switchyard-gzip-1', 'switchyard-base-gzip-1', 'switchyard-gzip-6', 'nginx-gzip-1', 'nginx-gzip-6'],
  variants: {
    switchyard: switchyardGzip(null),
    'switchyard-gzip-1': switchyardGzip(1),
    'switchyard-gzip-6': switchyardGzip(6),
    // Runs only with BASE_DIST (targets.mjs: missing() leaves out a build that is not given).
    'switchyard-base-gzip-1': { ...switchyardGzip(1), dist: process.env.BASE_DIST },
    'nginx-gzip-1': nginxGzip(1),
    'nginx-gzip-6': nginxGzip(6),
  },
  versus: {
    'switchyard-gzip-1': { 'nginx-gzip-1': 'nginx gzip 1 (goal >= 0.5)', 'switchyard-base-gzip-1': 'the BASE_DIST build at gzip 1' },
    'switchyard-gzip-6': { 'nginx-gzip-6': 'nginx gzip 6 (goal >= 0.5)' },
    switchyard: { 'nginx-gzip-1': 'nginx gzip 1', 'nginx-gzip-6': 'nginx gzip 6' },
  },
}
