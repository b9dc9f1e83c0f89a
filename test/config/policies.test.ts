// routes[] policy keys and top-level error_pages: values, and every bad key with its path.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { configOf, problemsOf } from '../helpers/config.js'

const HEAD = `listeners: [{port: 1}]
upstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}
`
const dir = mkdtempSync(join(tmpdir(), 'sy-policies-'))
const file = (name: string, content: string | Buffer): string => {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}
const BCRYPT = '$2y$05$abcdefghijklmnopqrstuu5Yd1QX3Y0YpD9pQ4ni2uHt1y7bX1xG2'
const users = file('users', `alice:${BCRYPT}\n`)
const page = file('503.html', '<h1>later</h1>')
const big = file('big.html', Buffer.alloc(1024 * 1024 + 1, 0x61))
const plain = file('plain', `alice:${BCRYPT}\nbob:hunter2\n`)


describe('policies: valid', () => {
  test('every key; a route without them has no `policies`', () => {
    const config = configOf(parseConfig(`${HEAD}error_pages: {503: ${page}}
routes:
  - match: {path_prefix: /api}
    upstream: app
    rewrite_prefix: /
    request_headers: {set: {X-Env: prod, Host: app.internal}, add: {X-Tag: 1}, remove: [X-Debug]}
    response_headers: {remove: [Server]}
    rate_limit: {requests: 100, per: 1m, burst: 50, key: "header:X-Api-Key"}
    allow: [10.0.0.0/8, "::1", "2001:db8::/32"]
    deny: [10.6.6.6]
    basic_auth: {realm: staff, users_file: ${users}}
    error_pages: {502: ${page}}
    maintenance: false
    intercept_errors: true
  - match: {host: old.example.com}
    redirect: {to: "https://example.com{path}", status: 301}
  - match: {path_prefix: /plain}
    upstream: app
`))
    const [api, old, other] = config.routes
    const p = api!.policies!
    expect(p.rewritePrefix).toBe('/')
    expect(p.requestHeaders).toEqual({ set: [['X-Env', 'prod'], ['Host', 'app.internal']], add: [['X-Tag', '1']], remove: ['X-Debug'] })
    expect(p.rateLimit).toEqual({ requests: 100, perMs: 60_000, burst: 50, key: { source: 'header', name: 'x-api-key' }, store: 'memory', maxKeys: 100_000, redis: null })
    expect(p.allow).toEqual(['10.0.0.0/8', '::1', '2001:db8::/32'])
    expect(p.basicAuth?.users.has('alice')).toBe(true)
    expect(p.basicAuth?.forward).toBe(false)
    expect(p.errorPages?.get(502)?.toString()).toBe('<h1>later</h1>')
    expect(p.interceptErrors).toBe(true)
    expect(old!.upstream).toBeNull()
    expect(old!.policies!.redirect).toEqual({ to: 'https://example.com{path}', status: 301 })
    expect(other!.policies).toBeUndefined()
    expect(config.errorPages?.get(503)?.toString()).toBe('<h1>later</h1>')
    expect(config.listeners[0]!.maxConnectionsPerClient).toBe(0)
  })

  test('redis rate limit store with defaults', () => {
    const config = configOf(parseConfig(`${HEAD}routes: [{upstream: app, rate_limit: {requests: 5, store: redis, redis: {url: "redis://127.0.0.1:6379"}}}]\n`))
    expect(config.routes[0]!.policies!.rateLimit).toMatchObject({ perMs: 1000, burst: 0, key: { source: 'client_ip' }, redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:rl:', timeoutMs: 100 } })
  })
})

describe('policies: problems with their key path', () => {
  const rows: [string, string, string][] = [
    ['CIDR typo', 'allow: [10.0.0.0/33]', 'routes.0.allow.0: "10.0.0.0/33": the prefix length must be 0 to 32'],
    ['not an address', 'deny: [10.0.0.300]', 'routes.0.deny.0: "10.0.0.300" is not an IP address'],
    ['burst < 0', 'rate_limit: {requests: 10, burst: -1}', 'routes.0.rate_limit.burst: must be an integer from 0'],
    ['requests missing', 'rate_limit: {per: 1s}', 'routes.0.rate_limit.requests: required'],
    ['bad key', 'rate_limit: {requests: 1, key: cookie}', 'routes.0.rate_limit.key: must be client_ip, route or header:NAME'],
    ['redis without url', 'rate_limit: {requests: 1, store: redis}', 'routes.0.rate_limit.redis: required with store: redis'],
    ['unknown placeholder', 'redirect: {to: "https://x{query}"}', 'routes.0.redirect.to: unknown placeholder {query}'],
    ['redirect status', 'redirect: {to: /x, status: 303}', 'routes.0.redirect.status: must be one of 301, 302, 307, 308'],
    ['framing header', 'response_headers: {set: {Content-Length: "5"}}', 'routes.0.response_headers.set.Content-Length: Content-Length cannot be changed by a header rule (framing'],
    ['Host added', 'request_headers: {add: {Host: x}}', 'routes.0.request_headers.add.Host: Host can only be replaced with `set`'],
    ['hop-by-hop removed', 'request_headers: {remove: [Connection]}', 'routes.0.request_headers.remove.0: Connection cannot be changed'],
    ['CRLF in a value', 'response_headers: {set: {X-A: "a\\r\\nX-B: b"}}', 'routes.0.response_headers.set.X-A: must not contain CR, LF or NUL'],
    ['unknown rule kind', 'request_headers: {replace: {}}', 'routes.0.request_headers.replace: unknown key "replace"'],
    ['rewrite not a path', 'rewrite_prefix: x', 'routes.0.rewrite_prefix: must start with "/"'],
    ['error page missing', `error_pages: {502: ${join(dir, 'nope.html')}}`, 'routes.0.error_pages.502: file'],
    ['error page > 1 MiB', `error_pages: {503: ${big}}`, 'routes.0.error_pages.503: "'],
    ['error page status', `error_pages: {500: ${page}}`, 'routes.0.error_pages.500: 500 is not a status switchyard answers itself'],
    ['htpasswd plain text', `basic_auth: {users_file: ${plain}}`, `routes.0.basic_auth.users_file: ${plain} line 2: user "bob": not a bcrypt hash`],
    ['htpasswd missing', `basic_auth: {users_file: ${join(dir, 'none')}}`, 'routes.0.basic_auth.users_file: file'],
    ['realm quote', `basic_auth: {realm: 'a"b', users_file: ${users}}`, 'routes.0.basic_auth.realm: must not contain "'],
  ]
  test.each(rows)('%s', (_what, yaml, want) => {
    const problems = problemsOf(`${HEAD}routes:\n  - upstream: app\n    ${yaml}\n`)
    expect(problems.some((p) => p.startsWith(want)), problems.join('\n')).toBe(true)
  })

  test('a page over 1 MiB at the top level; max_connections_per_client < 0', () => {
    const problems = problemsOf(`listeners: [{port: 1, max_connections_per_client: -1}]
upstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}
error_pages: {404: ${big}}
`)
    expect(problems.some((p) => p.startsWith('error_pages.404: ') && p.includes('larger than 1 MiB')), problems.join('\n')).toBe(true)
    expect(problems.some((p) => p.startsWith('listeners.0.max_connections_per_client: ')), problems.join('\n')).toBe(true)
  })

  test('a static route refuses request_headers', () => {
    const problems = problemsOf(`${HEAD}routes: [{static: {root: /tmp}, request_headers: {set: {X-A: b}}}]\n`)
    expect(problems.some((p) => p.startsWith('routes.0.request_headers: applies to routes with an `upstream` only')), problems.join('\n')).toBe(true)
  })
})

describe('compress', () => {
  test('true takes the defaults, a map overrides them, false and absent are none', () => {
    const config = configOf(parseConfig(`${HEAD}routes:
  - {match: {path_prefix: /a}, upstream: app, compress: true}
  - {match: {path_prefix: /b}, upstream: app, compress: {algorithms: [gzip, br], min_size: 2k, types: [text/*, Application/JSON], level: {gzip: 6}}}
  - {match: {path_prefix: /c}, upstream: app, compress: false}
  - {match: {path_prefix: /d}, upstream: app}
`))
    const [a, b, c, d] = config.routes
    expect(a!.policies!.compress).toMatchObject({ algorithms: ['zstd', 'br', 'gzip'], minSize: 1024, levels: { zstd: 3, br: 3, gzip: 4 } })
    expect(a!.policies!.compress!.types).toContain('application/json')
    expect(b!.policies!.compress).toEqual({ algorithms: ['gzip', 'br'], minSize: 2048, types: ['text/*', 'application/json'], levels: { zstd: 3, br: 3, gzip: 6 } })
    expect(c!.policies!.compress).toBeNull()
    expect(d!.policies).toBeUndefined()
  })

  const rows: [string, string, string][] = [
    ['not a bool or map', 'compress: yes please', 'routes.0.compress: must be true, false or a map'],
    ['unknown key', 'compress: {min_sise: 1k}', 'routes.0.compress.min_sise: unknown key "min_sise"; did you mean "min_size"?'],
    ['unknown algorithm', 'compress: {algorithms: [gzip, deflate]}', 'routes.0.compress.algorithms.1: must be one of zstd, br, gzip'],
    ['twice', 'compress: {algorithms: [br, br]}', 'routes.0.compress.algorithms.1: "br" is listed twice'],
    ['empty list', 'compress: {algorithms: []}', 'routes.0.compress.algorithms: must be a non-empty list'],
    ['bad size', 'compress: {min_size: lots}', 'routes.0.compress.min_size: must be a size'],
    ['bad type', 'compress: {types: [json]}', 'routes.0.compress.types.0: must be a media type'],
    ['types not a list', 'compress: {types: text/html}', 'routes.0.compress.types: must be a non-empty list'],
    ['gzip level', 'compress: {level: {gzip: 10}}', 'routes.0.compress.level.gzip: must be an integer from 1 to 9'],
    ['br level', 'compress: {level: {br: -1}}', 'routes.0.compress.level.br: must be an integer from 0 to 11'],
    ['level not a map', 'compress: {level: 5}', 'routes.0.compress.level: must be a map with the keys zstd, br, gzip'],
  ]
  test.each(rows)('%s', (_what, yaml, want) => {
    const problems = problemsOf(`${HEAD}routes:\n  - upstream: app\n    ${yaml}\n`)
    expect(problems.some((p) => p.startsWith(want)), problems.join('\n')).toBe(true)
  })

  test('a static route refuses it', () => {
    const problems = problemsOf(`${HEAD}routes: [{static: {root: /tmp}, compress: true}]\n`)
    expect(problems.some((p) => p.startsWith('routes.0.compress: applies to routes with an `upstream` only')), problems.join('\n')).toBe(true)
  })
})
