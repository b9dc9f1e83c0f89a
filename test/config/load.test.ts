import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { formatProblem, loadConfigFile, parseConfig } from '../../src/config/load.js'
import type { Config, LoadResult } from '../../src/config/types.js'

/** A listener's limits when the file sets none. */
const LISTENER_DEFAULTS = {
  tls: null,
  http2: true,
  redirectHttps: false,
  maxConnections: 0,
  maxConnectionsPerClient: 0,
  reusePort: false,
  maxBodySize: 0,
  maxHeaderSize: 16384,
  timeouts: { requestHeadMs: 10_000, requestMs: 300_000, keepAliveMs: 75_000 },
  trustedProxies: [],
  proxyProtocol: false,
}

// The example of the configuration reference (docs/configuration.md).
const REFERENCE_EXAMPLE = `
listeners:                       # at least one
  - name: public                 # optional, default "listener-<index>"
    address: 0.0.0.0             # default 0.0.0.0
    port: 8080                   # required
admin:                           # side port for /metrics, /healthz, /readyz, /status
  address: 127.0.0.1             # default 127.0.0.1 (never public by default)
  port: 9090                     # default 9090
workers: 1                       # integer >= 1, or "auto" (one per CPU); default 1
shutdown_timeout: 30s            # graceful drain limit on SIGTERM/SIGINT
log:
  level: info
  access_log: true               # one JSON line per request
upstreams:                       # map name -> upstream; name matches [A-Za-z0-9_.-]+
  app:
    balance: round_robin         # round_robin | least_connections (default round_robin)
    servers:                     # at least one
      - url: http://127.0.0.1:3001
        weight: 1                # 1..1000, default 1
      - url: http://127.0.0.1:3002
    max_connections_per_server: 128   # size of the pooled undici dispatcher per server
    retries: 2                   # extra attempts, each on a different server when one exists
    timeouts:
      connect: 2s
      response_headers: 60s      # no response head from the server by then -> 504 (nginx's proxy_read_timeout)
      idle: 60s                  # no body bytes either way for this long -> abort
    health_check:                # optional; absent = no active checks
      path: /health
      interval: 2s
      timeout: 1s
      healthy_threshold: 2       # consecutive successes to mark healthy
      unhealthy_threshold: 2     # consecutive failures to mark unhealthy
      expected_status: 200-399   # a code, a range, or a list of them
    passive_health:              # always on, these are the defaults
      consecutive_failures: 3    # connect errors / resets / timeouts in a row
      eject_duration: 10s        # then the server gets traffic again (one trial request)
routes:                          # optional when there is exactly one upstream
  - match:
      host: api.example.com      # optional: exact, or a leading wildcard *.example.com
      path_prefix: /api          # optional, default "/"; matches on segment boundaries
    upstream: app
`

const DEFAULT_UPSTREAM_SETTINGS = {
  balance: 'round_robin',
  maxConnectionsPerServer: 128,
  retries: 2,
  timeouts: { connectMs: 2_000, responseHeadersMs: 60_000, idleMs: 60_000 },
  passiveHealth: { consecutiveFailures: 3, ejectDurationMs: 10_000 },
  hashKey: null,
  sticky: null,
  slowStartMs: 0,
  queue: null,
  retryOn: ['connect_failure', 'reset_before_response'],
  retryBudget: { ratio: 0.2, minPerSecond: 10 },
  tls: null,
  http2: false,
  discovery: [],
  resolveIntervalMs: 30_000,
  resolver: null,
} as const

function configOf(result: LoadResult): Config {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.problems.map(formatProblem).join('\n')}`)
  return result.config
}

/** Every object and array reachable from `value` is frozen. */
function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen)
}

describe('parseConfig: valid configs', () => {
  test('the reference example compiles to the expected config', () => {
    const expected: Config = {
      listeners: [{ name: 'public', address: '0.0.0.0', port: 8080, ...LISTENER_DEFAULTS }],
      admin: { address: '127.0.0.1', port: 9090, requestMetrics: true, tokenFile: null, token: null },
      workers: 1,
      shutdownTimeoutMs: 30_000,
      log: { level: 'info', accessLog: true, accessLogFormat: 'json' },
      upstreams: [
        {
          name: 'app',
          ...DEFAULT_UPSTREAM_SETTINGS,
          servers: [
            { url: 'http://127.0.0.1:3001', id: '127.0.0.1:3001', weight: 1, maxRequests: 0 },
            { url: 'http://127.0.0.1:3002', id: '127.0.0.1:3002', weight: 1, maxRequests: 0 },
          ],
          healthCheck: {
            path: '/health',
            intervalMs: 2_000,
            timeoutMs: 1_000,
            healthyThreshold: 2,
            unhealthyThreshold: 2,
            expectedStatus: [[200, 399]],
            host: null,
            headers: [],
          },
        },
      ],
      caches: [],
      routes: [{ name: 'route-0', host: 'api.example.com', pathPrefix: '/api', upstream: 'app', cache: null }],
      errorPages: null,
    }
    const config = configOf(parseConfig(REFERENCE_EXAMPLE))
    expect(config).toEqual(expected)
    expect(deeplyFrozen(config)).toBe(true)
  })

  test('a minimal config gets every default and one route "/" to its only upstream', () => {
    const config = configOf(
      parseConfig(`
listeners:
  - port: 8080
upstreams:
  app:
    servers:
      - url: http://127.0.0.1:3001
`),
    )
    expect(config).toEqual({
      listeners: [{ name: 'listener-0', address: '0.0.0.0', port: 8080, ...LISTENER_DEFAULTS }],
      admin: { address: '127.0.0.1', port: 9090, requestMetrics: true, tokenFile: null, token: null },
      workers: 1,
      shutdownTimeoutMs: 30_000,
      log: { level: 'info', accessLog: true, accessLogFormat: 'json' },
      upstreams: [
        {
          name: 'app',
          ...DEFAULT_UPSTREAM_SETTINGS,
          servers: [{ url: 'http://127.0.0.1:3001', id: '127.0.0.1:3001', weight: 1, maxRequests: 0 }],
          healthCheck: null,
        },
      ],
      caches: [],
      routes: [{ name: 'route-0', host: null, pathPrefix: '/', upstream: 'app', cache: null }],
      errorPages: null,
    } satisfies Config)
    expect(deeplyFrozen(config)).toBe(true)
  })

  test('the result is deep-frozen: writes throw', () => {
    const config = configOf(parseConfig('listeners: [{port: 1}]\nupstreams: {a: {servers: [{url: "http://h"}]}}'))
    expect(() => {
      ;(config.listeners[0] as { port: number }).port = 2
    }).toThrow(TypeError)
    expect(() => {
      ;(config.upstreams[0]?.servers as unknown[]).push({})
    }).toThrow(TypeError)
  })

  test('every key set to a non-default value', () => {
    const config = configOf(
      parseConfig(`
listeners:
  - {name: a, address: "::", port: 0, max_connections: 100, max_body_size: 10m, max_header_size: 8k, timeouts: {request_head: 5s, request: 1m, keep_alive: 10s},
     trusted_proxies: [10.0.0.0/8, "::1", 192.168.0.7], proxy_protocol: true, http2: false, redirect_https: true}
  - {name: b, address: localhost, port: 0}
  - {address: 127.0.0.1, port: 8443}
admin: {address: "::1", port: 0, request_metrics: false}
workers: auto
shutdown_timeout: 1.5m
log: {level: silent, access_log: false, access_log_format: combined}
upstreams:
  web.v2:
    balance: least_connections
    servers:
      - {url: "http://[::1]:3001/", weight: 1000, max_requests: 8}
      - url: https://Example.COM
      - url: unix:/run//gunicorn/app.sock
      - {dns: "app.internal:8000", weight: 2, max_requests: 3}
      - srv: _http._tcp.app.service.consul.
    resolve_interval: 5s
    resolver: "127.0.0.1:8600"
    queue: {size: 10, timeout: 5s}
    retry_on: [connect_failure, response_timeout, 503]
    retry_budget: {ratio: 0.5, min_per_second: 1}
    max_connections_per_server: 1
    retries: 0
    timeouts: {connect: 250ms, response_headers: 1m, idle: 1h}
    health_check:
      path: /ready?deep=1
      interval: 500ms
      timeout: 0.25s
      healthy_threshold: 1
      unhealthy_threshold: 5
      expected_status: [200, "204", "300-302"]
      host: app.local:8000
      headers: {X-Probe: 1, User-Agent: " probe/1 "}
    passive_health: {consecutive_failures: 1, eject_duration: 30s}
    sticky: {cookie: sid, max_age: 1h}
    slow_start: 30s
    tls: {server_name: app.internal, verify: false}
    http2: true
  other_1:
    servers: [{url: "http://10.0.0.1:80"}]
    health_check: {}
    balance: hash
    hash_key: header:X-User-Id
routes:
  - match: {host: API.Example.com, path_prefix: /api/}
    upstream: web.v2
    name: api
  - match: {host: "*.example.com", path_prefix: /api}
    upstream: web.v2
    timeouts: {response_headers: 5m, idle: 1h}
  - match: {path_prefix: //}
    upstream: other_1
  - upstream: web.v2
    match: {path_prefix: /static///}
`),
    )
    expect(config.listeners).toEqual([
      { name: 'a', address: '::', port: 0, maxConnections: 100, maxConnectionsPerClient: 0, maxBodySize: 10 * 1024 ** 2, maxHeaderSize: 8192, timeouts: { requestHeadMs: 5_000, requestMs: 60_000, keepAliveMs: 10_000 },
        trustedProxies: [{ family: 4, network: '10.0.0.0', prefix: 8 }, { family: 6, network: '::1', prefix: 128 }, { family: 4, network: '192.168.0.7', prefix: 32 }],
        proxyProtocol: true, reusePort: false, tls: null, http2: false, redirectHttps: true },
      { name: 'b', address: 'localhost', port: 0, ...LISTENER_DEFAULTS },
      { name: 'listener-2', address: '127.0.0.1', port: 8443, ...LISTENER_DEFAULTS },
    ])
    expect(config.admin).toEqual({ address: '::1', port: 0, requestMetrics: false, tokenFile: null, token: null })
    expect(config.workers).toBe('auto')
    expect(config.shutdownTimeoutMs).toBe(90_000)
    expect(config.log).toEqual({ level: 'silent', accessLog: false, accessLogFormat: 'combined' })
    expect(config.upstreams.map((u) => u.name)).toEqual(['web.v2', 'other_1'])
    expect(config.upstreams[0]).toEqual({
      name: 'web.v2',
      balance: 'least_connections',
      servers: [
        { url: 'http://[::1]:3001', id: '[::1]:3001', weight: 1000, maxRequests: 8 },
        { url: 'https://example.com', id: 'example.com:443', weight: 1, maxRequests: 0 },
        { url: 'unix:/run/gunicorn/app.sock', id: 'unix:/run/gunicorn/app.sock', weight: 1, maxRequests: 0, socketPath: '/run/gunicorn/app.sock' },
      ],
      discovery: [
        { kind: 'dns', name: 'app.internal', port: 8000, weight: 2, maxRequests: 3 },
        { kind: 'srv', name: '_http._tcp.app.service.consul', port: 0, weight: 0, maxRequests: 0 },
      ],
      resolveIntervalMs: 5_000,
      resolver: '127.0.0.1:8600',
      maxConnectionsPerServer: 1,
      retries: 0,
      timeouts: { connectMs: 250, responseHeadersMs: 60_000, idleMs: 3_600_000 },
      healthCheck: {
        path: '/ready?deep=1',
        intervalMs: 500,
        timeoutMs: 250,
        healthyThreshold: 1,
        unhealthyThreshold: 5,
        expectedStatus: [
          [200, 200],
          [204, 204],
          [300, 302],
        ],
        host: 'app.local:8000',
        headers: [['X-Probe', '1'], ['User-Agent', 'probe/1']],
      },
      passiveHealth: { consecutiveFailures: 1, ejectDurationMs: 30_000 },
      hashKey: null,
      sticky: { cookie: 'sid', maxAgeMs: 3_600_000 },
      slowStartMs: 30_000,
      queue: { size: 10, timeoutMs: 5_000 },
      retryOn: ['connect_failure', 'response_timeout', '503'],
      retryBudget: { ratio: 0.5, minPerSecond: 1 },
      tls: { caFile: null, ca: null, serverName: 'app.internal', verify: false, certFile: null, cert: null, keyFile: null, key: null },
      http2: true,
    })
    expect(config.upstreams[1]?.balance).toBe('hash')
    expect(config.upstreams[1]?.hashKey).toEqual({ source: 'header', name: 'x-user-id' })
    expect(config.upstreams[1]?.servers).toEqual([{ url: 'http://10.0.0.1', id: '10.0.0.1:80', weight: 1, maxRequests: 0 }])
    // `health_check: {}` turns checks on with every default.
    expect(config.upstreams[1]?.healthCheck).toEqual({
      path: '/health',
      intervalMs: 2_000,
      timeoutMs: 1_000,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      expectedStatus: [[200, 399]],
      host: null,
      headers: [],
    })
    expect(config.routes).toEqual([
      { name: 'api', host: 'api.example.com', pathPrefix: '/api', upstream: 'web.v2', cache: null },
      { name: 'route-1', host: '*.example.com', pathPrefix: '/api', upstream: 'web.v2', cache: null, timeouts: { responseHeadersMs: 300_000, idleMs: 3_600_000 } },
      { name: 'route-2', host: null, pathPrefix: '/', upstream: 'other_1', cache: null },
      { name: 'route-3', host: null, pathPrefix: '/static', upstream: 'web.v2', cache: null },
    ])
  })

  test('empty values mean "use the default"; health_check: null means no active checks', () => {
    const config = configOf(
      parseConfig(`
listeners:
  - port: 80
    name:
admin:
workers: ~
log:
upstreams:
  app:
    servers: [{url: "http://h:1", weight: null}]
    timeouts:
    health_check: null
    passive_health:
routes: []
`),
    )
    expect(config.listeners[0]?.name).toBe('listener-0')
    expect(config.admin).toEqual({ address: '127.0.0.1', port: 9090, requestMetrics: true, tokenFile: null, token: null })
    expect(config.workers).toBe(1)
    expect(config.upstreams[0]?.healthCheck).toBeNull()
    expect(config.upstreams[0]?.timeouts.idleMs).toBe(60_000)
    expect(config.routes).toEqual([{ name: 'route-0', host: null, pathPrefix: '/', upstream: 'app', cache: null }])
  })

  test.each<[string, string, unknown, unknown]>([
    ['balance: ip_hash', '', null, null],
    ['balance: hash', 'hash_key: client_ip', { source: 'client_ip', name: '' }, null],
    ['balance: hash', 'hash_key: path', { source: 'path', name: '' }, null],
    ['balance: hash', 'hash_key: "header:X-Tenant"', { source: 'header', name: 'x-tenant' }, null],
    ['balance: hash', 'hash_key: "cookie:SessionID"', { source: 'cookie', name: 'SessionID' }, null],
    ['balance: random_two', 'sticky: {}', null, { cookie: 'sy_server', maxAgeMs: null }],
    ['balance: hash', 'hash_key: "cookie:io"\n    sticky: {cookie: route, max_age: 500ms}', { source: 'cookie', name: 'io' }, { cookie: 'route', maxAgeMs: 500 }],
  ])('affinity: %s %s', (balance, more, hashKey, sticky) => {
    const config = configOf(parseConfig(`listeners: [{port: 8080}]\nupstreams:\n  app:\n    ${balance}\n    ${more}\n    servers: [{url: "http://h:1"}]\n`))
    expect(config.upstreams[0]?.balance).toBe(balance.slice('balance: '.length))
    expect(config.upstreams[0]?.hashKey).toEqual(hashKey)
    expect(config.upstreams[0]?.sticky).toEqual(sticky)
  })

  test('YAML anchors and aliases work', () => {
    const config = configOf(
      parseConfig(`
listeners: [{port: 8080}]
upstreams:
  a:
    servers: [{url: "http://h:1"}]
    timeouts: &fast {connect: 100ms}
  b:
    servers: [{url: "http://h:2"}]
    timeouts: *fast
routes:
  - {upstream: a, match: {path_prefix: /a}}
  - {upstream: b}
`),
    )
    expect(config.upstreams[1]?.timeouts.connectMs).toBe(100)
  })
})

describe('the example config file', () => {
  test('config/switchyard.yaml loads without problems', async () => {
    const file = fileURLToPath(new URL('../../config/switchyard.yaml', import.meta.url))
    const config = configOf(await loadConfigFile(file))
    expect(config.listeners).toEqual([{ name: 'public', address: '0.0.0.0', port: 8080, ...LISTENER_DEFAULTS }])
    expect(config.admin).toEqual({ address: '127.0.0.1', port: 9090, requestMetrics: true, tokenFile: null, token: null })
    expect(config.upstreams.map((u) => u.name)).toEqual(['app'])
    expect(config.upstreams[0]?.servers.map((s) => s.id)).toEqual(['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003'])
    expect(config.routes).toEqual([{ name: 'route-0', host: null, pathPrefix: '/', upstream: 'app', cache: null }])
  })
})

describe('loadConfigFile', () => {
  test('a missing file is one problem with a clear message', async () => {
    const result = await loadConfigFile('config/does-not-exist.yaml')
    expect(result).toEqual({
      ok: false,
      problems: [{ path: '', message: 'cannot read config/does-not-exist.yaml: ENOENT: no such file or directory' }],
    })
  })

  test('a directory is one problem', async () => {
    const result = await loadConfigFile('config')
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.problems).toEqual([{ path: '', message: 'cannot read config: EISDIR: illegal operation on a directory' }])
  })

  test('reads and validates a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'))
    try {
      const file = join(dir, 'bad.yaml')
      await writeFile(file, 'listeners: [{port: 8080}]\nupstreams: {}\n')
      expect(await loadConfigFile(file)).toEqual({
        ok: false,
        problems: [{ path: 'upstreams', message: 'must define at least one upstream', line: 2 }],
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('formatProblem', () => {
  test.each([
    [{ path: 'listeners.0.port', message: 'required', line: 3 }, 'listeners.0.port: required (line 3)'],
    [{ path: 'routes', message: 'required when there is more than one upstream' }, 'routes: required when there is more than one upstream'],
    [{ path: '', message: 'YAML syntax error: oops', line: 7 }, 'YAML syntax error: oops (line 7)'],
    [{ path: '', message: 'cannot read x.yaml: ENOENT' }, 'cannot read x.yaml: ENOENT'],
  ])('%j', (problem, text) => {
    expect(formatProblem(problem)).toBe(text)
  })
})
