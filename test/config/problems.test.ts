import { describe, expect, test } from 'vitest'
import { formatProblem, parseConfig } from '../../src/config/load.js'

/** [path, line, a piece of the message] for each problem, in the order reported. */
type Expected = [path: string, line: number | undefined, message: string]

function problemsOf(yaml: string): Expected[] {
  const result = parseConfig(yaml)
  if (result.ok) throw new Error('expected problems, the config is valid')
  return result.problems.map((p) => [p.path, p.line, p.message])
}

function expectProblems(yaml: string, expected: Expected[]): void {
  const actual = problemsOf(yaml)
  expect(actual.map(([path, line]) => [path, line])).toEqual(expected.map(([path, line]) => [path, line]))
  actual.forEach(([, , message], i) => expect(message).toContain(expected[i]?.[2]))
}

// A valid base: line 1 listeners, line 2 upstreams, lines 3-5 upstream `app`.
const BASE = `listeners: [{port: 8080}]
upstreams:
  app:
    servers:
      - url: http://127.0.0.1:3001
`

describe('document-level problems', () => {
  test.each([
    ['an empty file', '', 'the config file is empty'],
    ['only comments', '# nothing here\n', 'the config file is empty'],
    ['only a document marker', '---\n', 'the config file is empty'],
  ])('%s', (_, yaml, message) => {
    expectProblems(yaml, [['', undefined, message]])
  })

  test.each([
    ['a list', '- listeners\n- upstreams\n', 'got a list'],
    ['a string', 'hello\n', 'got "hello"'],
    ['a number', '42\n', 'got 42'],
  ])('a document that is %s', (_, yaml, message) => {
    expectProblems(yaml, [['', 1, `the config must be a map of keys such as listeners and upstreams (${message})`]])
  })

  test('a YAML syntax error has its line and stops validation', () => {
    expectProblems(`${BASE}    retries: 2: 3\nroutes: 5\n`, [['', 6, 'YAML syntax error: Nested mappings are not allowed in compact mappings']])
  })

  test.each([
    ['an unclosed flow map (found where the map should have ended)', `${BASE}    timeouts: {connect: 2s\nroutes: 5\n`, 7],
    ['a tab as indentation', `${BASE}\tretries: 2\n`, 6],
    ['an unclosed quote', `${BASE}    balance: "round_robin\n`, 6],
  ])('a YAML syntax error: %s', (_, yaml, line) => {
    expectProblems(yaml, [['', line, 'YAML syntax error']])
  })

  test('an alias without its anchor', () => {
    expectProblems(`${BASE}    timeouts: *fast\n`, [['', 6, 'YAML error: alias *fast has no anchor &fast before it']])
  })

  test('bad indentation is a syntax error with a line', () => {
    expectProblems('listeners:\n  - port: 1\n   name: x\nupstreams: {}\n', [['', 3, 'YAML syntax error']])
  })

  test('two documents in one file', () => {
    expectProblems(`${BASE}---\nlisteners: []\n`, [['', 6, 'YAML syntax error']])
  })

  test('a duplicate key is reported with its path and line, together with other problems', () => {
    expectProblems(`${BASE}    retries: 1\n    retries: 2\nworkers: 0\n`, [
      ['upstreams.app.retries', 7, 'duplicate key "retries"'],
      ['workers', 8, 'must be an integer from 1 to 256 or "auto"'],
    ])
  })

  test('a duplicate top-level key', () => {
    expectProblems(`${BASE}listeners: [{port: 8081}]\n`, [['listeners', 6, 'duplicate key "listeners"']])
  })
})

describe('unknown keys', () => {
  test.each([
    ['top level', `${BASE}listener: []\n`, 'listener', 6, 'unknown key "listener"; did you mean "listeners"?'],
    ['in an upstream', `${BASE}    retires: 3\n`, 'upstreams.app.retires', 6, 'unknown key "retires"; did you mean "retries"?'],
    ['in a server', `${BASE}        wieght: 2\n`, 'upstreams.app.servers.0.wieght', 6, 'did you mean "weight"?'],
    ['in a listener', 'listeners:\n  - port: 1\n    adress: ::1\n' + BASE.slice(BASE.indexOf('\n') + 1), 'listeners.0.adress', 3, 'did you mean "address"?'],
    ['camelCase spelling', `${BASE}log:\n  accessLog: false\n`, 'log.accessLog', 7, 'did you mean "access_log"?'],
    ['in timeouts', `${BASE}    timeouts:\n      read: 2s\n`, 'upstreams.app.timeouts.read', 7, 'unknown key "read"'],
    ['in health_check', `${BASE}    health_check:\n      url: /health\n`, 'upstreams.app.health_check.url', 7, 'unknown key "url"'],
    ['in passive_health', `${BASE}    passive_health: {failures: 3}\n`, 'upstreams.app.passive_health.failures', 6, 'unknown key "failures"'],
    ['in a route', `${BASE}routes:\n  - upstream: app\n    path_prefix: /api\n`, 'routes.0.path_prefix', 8, 'unknown key "path_prefix"'],
    ['in a route match', `${BASE}routes:\n  - upstream: app\n    match:\n      hots: a.com\n`, 'routes.0.match.hots', 9, 'did you mean "host"?'],
    ['in admin', `${BASE}admin:\n  listen: 1.2.3.4\n`, 'admin.listen', 7, 'unknown key "listen"'],
  ])('%s', (_, yaml, path, line, message) => {
    expectProblems(yaml, [[path, line, message]])
  })

  test('a misspelt required key: the typo and the missing key, both on the line of the typo', () => {
    expectProblems(BASE.replace('servers:', 'sevrers:'), [
      ['upstreams.app.sevrers', 4, 'unknown key "sevrers"; did you mean "servers"?'],
      ['upstreams.app.servers', 4, 'required'],
    ])
  })

  test('an unknown key points at the key, not at its value', () => {
    expectProblems(`${BASE}extra:\n  - a\n  - b\n`, [['extra', 6, 'unknown key "extra"']])
  })
})

describe('listeners and admin', () => {
  const upstreams = BASE.slice(BASE.indexOf('\n') + 1)
  test.each<[string, string, Expected[]]>([
    ['missing listeners', upstreams, [['listeners', 1, 'required']]],
    ['empty listeners', `listeners: []\n${upstreams}`, [['listeners', 1, 'must list at least one listener']]],
    ['listeners not a list', `listeners: {port: 80}\n${upstreams}`, [['listeners', 1, 'must be a list (got a map)']]],
    ['reuse_port on port 0', `listeners:\n  - { port: 0, reuse_port: true }\n${upstreams}`, [['listeners.0.reuse_port', 2, 'needs a fixed port: with port 0 every worker would get a different one']]],
    ['http2 on a plain listener', `listeners:\n  - { port: 8080, http2: true }\n${upstreams}`, [['listeners.0.http2', 2, 'HTTP/2 is offered on TLS listeners only (by ALPN): add `tls:` or remove http2']]],
    ['tls without certificates, a bad min_version', `listeners:\n  - port: 8080\n    tls: { min_version: "1.1" }\n${upstreams}`, [['listeners.0.tls.certificates', 3, 'required'], ['listeners.0.tls.min_version', 3, 'must be one of 1.2, 1.3 (got "1.1")']]],
    ['a listener that is not a map', `listeners:\n  - 8080\n${upstreams}`, [['listeners.0', 2, 'must be a map with the keys name, address, port, max_connections, max_connections_per_client, max_body_size, max_header_size, timeouts, trusted_proxies, proxy_protocol, tls, http2, redirect_https, reuse_port (got 8080)']]],
    // A missing key is reported at the map that should hold it.
    ['missing port', `listeners:\n  - name: web\n    address: 0.0.0.0\n${upstreams}`, [['listeners.0.port', 2, 'required']]],
    ['port out of range', `listeners:\n  - port: 65536\n${upstreams}`, [['listeners.0.port', 2, 'must be an integer from 0 to 65535 (got 65536)']]],
    ['port negative', `listeners:\n  - port: -1\n${upstreams}`, [['listeners.0.port', 2, 'got -1']]],
    ['port as a string', `listeners:\n  - port: "80"\n${upstreams}`, [['listeners.0.port', 2, 'got "80"']]],
    ['port not an integer', `listeners:\n  - port: 80.5\n${upstreams}`, [['listeners.0.port', 2, 'got 80.5']]],
    ['bad address', `listeners:\n  - port: 80\n    address: "not an address"\n${upstreams}`, [['listeners.0.address', 3, 'must be an IPv4 or IPv6 address or a hostname']]],
    ['bracketed IPv6 address', `listeners:\n  - port: 80\n    address: "[::1]"\n${upstreams}`, [['listeners.0.address', 3, 'without brackets']]],
    ['address not a string', `listeners:\n  - port: 80\n    address: [::1]\n${upstreams}`, [['listeners.0.address', 3, 'must be a string (got a list)']]],
    ['empty name', `listeners:\n  - port: 80\n    name: ""\n${upstreams}`, [['listeners.0.name', 3, 'must not be empty']]],
    [
      'duplicate ports',
      `listeners:\n  - port: 8080\n  - port: 8081\n  - port: 8080\n${upstreams}`,
      [['listeners.2.port', 4, 'port 8080 is already used by listeners.0']],
    ],
    [
      'duplicate names, one of them a default name',
      `listeners:\n  - port: 1\n    name: listener-1\n  - port: 2\n${upstreams}`,
      [['listeners.1.name', 4, 'duplicate listener name "listener-1" (also listeners.0)']],
    ],
    ['admin port equal to a listener port', `${BASE}admin:\n  port: 8080\n`, [['admin.port', 7, 'port 8080 is also used by listeners.0']]],
    [
      'the default admin port equal to a listener port',
      `listeners: [{port: 9090}]\n${upstreams}`,
      [['admin.port', 1, 'port 9090 is also used by listeners.0 (the default admin port)']],
    ],
    ['admin port out of range', `${BASE}admin: {port: 100000}\n`, [['admin.port', 6, 'must be an integer from 0 to 65535']]],
    ['admin not a map', `${BASE}admin: 9090\n`, [['admin', 6, 'must be a map with the keys address, port, request_metrics (got 9090)']]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })

  test('port 0 (any free port) may be used by several listeners and the admin port', () => {
    const result = parseConfig(`listeners: [{port: 0}, {port: 0}]\nadmin: {port: 0}\n${upstreams}`)
    expect(result.ok).toBe(true)
  })
})

describe('top-level scalars', () => {
  test.each<[string, string, string]>([
    ['workers: 0', 'workers', 'must be an integer from 1 to 256 or "auto"'],
    ['workers: two', 'workers', 'got "two"'],
    ['workers: 1.5', 'workers', 'got 1.5'],
    ['shutdown_timeout: 30', 'shutdown_timeout', 'needs a unit: write it like "2s" or "250ms"'],
    ['shutdown_timeout: 0s', 'shutdown_timeout', 'must be greater than 0'],
    ['shutdown_timeout: 30 seconds', 'shutdown_timeout', 'must be a duration with a unit (ms, s, m or h)'],
    ['shutdown_timeout: 1000h', 'shutdown_timeout', 'must be at most 596h'],
    ['log: {level: verbose}', 'log.level', 'must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    ['log: {access_log: yes}', 'log.access_log', 'must be true or false (got "yes")'],
    ['log: info', 'log', 'must be a map'],
  ])('%s', (line, path, message) => {
    expectProblems(`${BASE}${line}\n`, [[path, 6, message]])
  })
})

describe('upstreams', () => {
  const listeners = 'listeners: [{port: 8080}]\n'
  test.each<[string, string, Expected[]]>([
    ['no upstreams key', listeners, [['upstreams', 1, 'required']]],
    ['no upstream at all', `${listeners}upstreams: {}\n`, [['upstreams', 2, 'must define at least one upstream']]],
    ['upstreams as a list', `${listeners}upstreams:\n  - app\n`, [['upstreams', 3, 'must be a map of upstream name -> settings (got a list)']]],
    ['a bad upstream name', `${listeners}upstreams:\n  "my app":\n    servers: [{url: "http://h"}]\n`, [['upstreams.my app', 3, 'upstream name "my app" may only contain']]],
    ['a number as upstream name', `${listeners}upstreams:\n  1:\n    servers: [{url: "http://h"}]\n`, [['upstreams.1', 3, 'quote it ("1")']]],
    ['an upstream without servers', `${listeners}upstreams:\n  app:\n    retries: 1\n`, [['upstreams.app.servers', 4, 'required']]],
    ['an empty upstream', `${listeners}upstreams:\n  app:\n`, [['upstreams.app.servers', 3, 'required']]],
    ['an empty server list', `${listeners}upstreams:\n  app:\n    servers: []\n`, [['upstreams.app.servers', 4, 'must list at least one server']]],
    ['a server without url', `${listeners}upstreams:\n  app:\n    servers:\n      - weight: 2\n`, [['upstreams.app.servers.0.url', 5, 'required']]],
    ['a server that is a string', `${listeners}upstreams:\n  app:\n    servers:\n      - http://h:1\n`, [['upstreams.app.servers.0', 5, 'must be a map with the keys url, weight']]],
    ['balance', `${BASE}    balance: random\n`, [['upstreams.app.balance', 6, 'must be one of round_robin, least_connections, ip_hash, hash, random_two (got "random")']]],
    ['hash without hash_key', `${BASE}    balance: hash\n`, [['upstreams.app.hash_key', 4, 'is required with balance: hash (client_ip, path, header:NAME or cookie:NAME)']]],
    ['hash_key without balance: hash', `${BASE}    hash_key: path\n`, [['upstreams.app.hash_key', 6, 'applies to balance: hash only (this upstream has balance: round_robin)']]],
    ['hash_key with ip_hash', `${BASE}    balance: ip_hash\n    hash_key: path\n`, [['upstreams.app.hash_key', 7, 'ip_hash always hashes the client address']]],
    ['hash_key with a misspelt balance: only the balance is reported', `${BASE}    balance: hashing\n    hash_key: path\n`, [['upstreams.app.balance', 6, 'must be one of']]],
    ['hash_key unknown', `${BASE}    balance: hash\n    hash_key: url\n`, [['upstreams.app.hash_key', 7, 'must be one of client_ip, path, header:NAME or cookie:NAME (got "url")']]],
    ['hash_key not a string', `${BASE}    balance: hash\n    hash_key: [path]\n`, [['upstreams.app.hash_key', 7, '(got a list)']]],
    ['hash_key header: without a name', `${BASE}    balance: hash\n    hash_key: "header:"\n`, [['upstreams.app.hash_key', 7, 'header: needs a header name, e.g. "header:X-User-Id"']]],
    ['hash_key cookie: without a name', `${BASE}    balance: hash\n    hash_key: "cookie:"\n`, [['upstreams.app.hash_key', 7, 'cookie: needs a cookie name']]],
    ['hash_key header with a space', `${BASE}    balance: hash\n    hash_key: "header:X User"\n`, [['upstreams.app.hash_key', 7, '"X User" is not a valid header name']]],
    ['hash_key cookie with "="', `${BASE}    balance: hash\n    hash_key: "cookie:a=b"\n`, [['upstreams.app.hash_key', 7, '"a=b" is not a valid cookie name']]],
    ['sticky not a map', `${BASE}    sticky: true\n`, [['upstreams.app.sticky', 6, 'must be a map with the keys cookie, max_age (got true)']]],
    ['sticky unknown key', `${BASE}    sticky: {name: x}\n`, [['upstreams.app.sticky.name', 6, 'unknown key "name"']]],
    ['sticky cookie name with ";"', `${BASE}    sticky: {cookie: "a;b"}\n`, [['upstreams.app.sticky.cookie', 6, '"a;b" is not a valid cookie name']]],
    ['sticky cookie empty', `${BASE}    sticky: {cookie: ""}\n`, [['upstreams.app.sticky.cookie', 6, 'must not be empty']]],
    ['sticky max_age without unit', `${BASE}    sticky: {max_age: 3600}\n`, [['upstreams.app.sticky.max_age', 6, 'needs a unit']]],
    ['sticky max_age 0', `${BASE}    sticky: {max_age: 0s}\n`, [['upstreams.app.sticky.max_age', 6, 'must be greater than 0']]],
    ['slow_start 0', `${BASE}    slow_start: 0s\n`, [['upstreams.app.slow_start', 6, 'must be greater than 0']]],
    ['slow_start without unit', `${BASE}    slow_start: 30\n`, [['upstreams.app.slow_start', 6, 'needs a unit']]],
    ['weight 0', `${BASE}        weight: 0\n`, [['upstreams.app.servers.0.weight', 6, 'must be an integer from 1 to 1000 (got 0)']]],
    ['weight 1001', `${BASE}        weight: 1001\n`, [['upstreams.app.servers.0.weight', 6, 'got 1001']]],
    ['max_connections_per_server 0', `${BASE}    max_connections_per_server: 0\n`, [['upstreams.app.max_connections_per_server', 6, 'must be an integer >= 1']]],
    ['retries 11', `${BASE}    retries: 11\n`, [['upstreams.app.retries', 6, 'must be an integer from 0 to 10']]],
    ['a timeout without unit', `${BASE}    timeouts:\n      connect: 2\n`, [['upstreams.app.timeouts.connect', 7, 'needs a unit']]],
    ['a zero timeout', `${BASE}    timeouts:\n      idle: 0ms\n`, [['upstreams.app.timeouts.idle', 7, 'must be greater than 0']]],
    ['a bad duration', `${BASE}    timeouts:\n      response_headers: 30sec\n`, [['upstreams.app.timeouts.response_headers', 7, 'got "30sec"']]],
    ['passive_health eject_duration 0', `${BASE}    passive_health:\n      eject_duration: 0s\n`, [['upstreams.app.passive_health.eject_duration', 7, 'must be greater than 0']]],
    ['passive_health consecutive_failures 0', `${BASE}    passive_health:\n      consecutive_failures: 0\n`, [['upstreams.app.passive_health.consecutive_failures', 7, 'must be an integer >= 1']]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })

  describe('server urls', () => {
    test.each<[string, string]>([
      ['ftp://127.0.0.1', 'must be an http:// or https:// URL such as http://host:port, or unix:/path for a Unix socket (got protocol "ftp:")'],
      ['127.0.0.1:3001', 'not a valid URL: "127.0.0.1:3001" (expected http://host:port)'],
      ['localhost:3001', 'must be an http:// or https:// URL'],
      ['http://127.0.0.1:3001/api', 'must not have a path (got "/api")'],
      ['http://127.0.0.1:3001/?a=1', 'must not have a query string'],
      ['http://127.0.0.1:3001?', 'must not have a query string'],
      ['http://127.0.0.1:3001#x', 'must not have a fragment'],
      ['http://user:pw@127.0.0.1:3001', 'must not contain credentials'],
      ['http://127.0.0.1:99999', 'not a valid URL'],
      ['http://', 'not a valid URL'],
    ])('%s', (url, message) => {
      expectProblems(BASE.replace('http://127.0.0.1:3001', url), [['upstreams.app.servers.0.url', 5, message]])
    })

    test('a url that is not a string', () => {
      expectProblems(BASE.replace('http://127.0.0.1:3001', '3001'), [['upstreams.app.servers.0.url', 5, 'must be a string (got 3001)']])
    })

    test('the same server twice (after normalisation) is an error on the second', () => {
      expectProblems(`${BASE}      - url: http://127.0.0.1:3002\n      - url: HTTP://127.0.0.1:3001/\n`, [
        ['upstreams.app.servers.2.url', 7, 'duplicate server http://127.0.0.1:3001 (same as servers.0)'],
      ])
    })

    test('the same server in two upstreams is fine', () => {
      const yaml = `${BASE}  other:\n    servers: [{url: "http://127.0.0.1:3001"}]\nroutes: [{upstream: app}, {upstream: other, match: {host: a.com}}]\n`
      expect(parseConfig(yaml).ok).toBe(true)
    })
  })

  describe('health_check', () => {
    const hc = (body: string): string => `${BASE}    health_check:\n${body}`
    test.each<[string, string, Expected[]]>([
      ['path without leading slash', hc('      path: health\n'), [['upstreams.app.health_check.path', 7, 'must start with "/" (got "health")']]],
      ['path with a space', hc('      path: /he alth\n'), [['upstreams.app.health_check.path', 7, 'without spaces']]],
      ['interval as a number', hc('      interval: 2\n'), [['upstreams.app.health_check.interval', 7, 'needs a unit']]],
      ['timeout 0', hc('      timeout: 0s\n'), [['upstreams.app.health_check.timeout', 7, 'must be greater than 0']]],
      ['healthy_threshold 0', hc('      healthy_threshold: 0\n'), [['upstreams.app.health_check.healthy_threshold', 7, 'must be an integer >= 1']]],
      ['unhealthy_threshold 1.5', hc('      unhealthy_threshold: 1.5\n'), [['upstreams.app.health_check.unhealthy_threshold', 7, 'got 1.5']]],
      ['expected_status 600', hc('      expected_status: 600\n'), [['upstreams.app.health_check.expected_status', 7, 'must be a status code (100-599) or a range such as "200-399" (got 600)']]],
      ['expected_status reversed range', hc('      expected_status: 399-200\n'), [['upstreams.app.health_check.expected_status', 7, 'range 399-200 is empty']]],
      ['expected_status text', hc('      expected_status: ok\n'), [['upstreams.app.health_check.expected_status', 7, 'got "ok"']]],
      ['expected_status empty list', hc('      expected_status: []\n'), [['upstreams.app.health_check.expected_status', 7, 'must list at least one status code or range']]],
      [
        'expected_status bad list items',
        hc('      expected_status:\n        - 200\n        - 99\n        - "200-700"\n'),
        [
          ['upstreams.app.health_check.expected_status.1', 9, 'got 99'],
          ['upstreams.app.health_check.expected_status.2', 10, 'got "200-700"'],
        ],
      ],
      ['not a map', `${BASE}    health_check: /health\n`, [['upstreams.app.health_check', 6, 'must be a map with the keys path, interval']]],
    ])('%s', (_, yaml, expected) => {
      expectProblems(yaml, expected)
    })
  })
})

describe('routes', () => {
  const TWO = `${BASE}  api:\n    servers: [{url: "http://127.0.0.1:4001"}]\n`
  const route = (match: string, upstream = 'app'): string => `  - match: ${match}\n    upstream: ${upstream}\n`
  test.each<[string, string, Expected[]]>([
    ['no routes with two upstreams', TWO, [['routes', 1, 'required when there is more than one upstream']]],
    ['an empty route list with two upstreams', `${TWO}routes: []\n`, [['routes', 8, 'required when there is more than one upstream']]],
    ['routes not a list', `${BASE}routes: {upstream: app}\n`, [['routes', 6, 'must be a list (got a map)']]],
    ['unknown upstream', `${TWO}routes:\n  - upstream: apj\n`, [['routes.0.upstream', 9, 'unknown upstream "apj"; did you mean "app"?']]],
    ['missing upstream', `${TWO}routes:\n  - match: {path_prefix: /x}\n`, [['routes.0.upstream', 9, 'required']]],
    ['host with a port', `${BASE}routes:\n${route('{host: "a.example.com:8080"}')}`, [['routes.0.match.host', 7, 'must not include a port']]],
    ['wildcard in the middle', `${BASE}routes:\n${route('{host: "api.*.example.com"}')}`, [['routes.0.match.host', 7, 'a wildcard is only allowed as the whole first label']]],
    ['wildcard at the end', `${BASE}routes:\n${route('{host: "example.*"}')}`, [['routes.0.match.host', 7, 'wildcard']]],
    ['a lone *', `${BASE}routes:\n${route('{host: "*"}')}`, [['routes.0.match.host', 7, 'leave host out to match any host']]],
    ['partial wildcard label', `${BASE}routes:\n${route('{host: "*api.example.com"}')}`, [['routes.0.match.host', 7, 'wildcard']]],
    ['host with a path', `${BASE}routes:\n${route('{host: "example.com/api"}')}`, [['routes.0.match.host', 7, 'must be a hostname']]],
    ['empty host', `${BASE}routes:\n${route('{host: ""}')}`, [['routes.0.match.host', 7, 'must not be empty']]],
    ['path_prefix without slash', `${BASE}routes:\n${route('{path_prefix: api}')}`, [['routes.0.match.path_prefix', 7, 'must start with "/" (got "api")']]],
    ['path_prefix with a query', `${BASE}routes:\n${route('{path_prefix: "/api?x=1"}')}`, [['routes.0.match.path_prefix', 7, 'without "?" or "#"']]],
    ['path_prefix with a fragment', `${BASE}routes:\n${route('{path_prefix: "/api#x"}')}`, [['routes.0.match.path_prefix', 7, 'without "?" or "#"']]],
    ['match not a map', `${BASE}routes:\n${route('/api')}`, [['routes.0.match', 7, 'must be a map with the keys host, path_prefix']]],
    [
      'the same match twice, after normalisation',
      `${TWO}routes:\n${route('{host: API.example.com, path_prefix: /api}')}${route('{host: api.example.com, path_prefix: /api/}', 'api')}`,
      [['routes.1', 11, 'same match as routes.0 (host "api.example.com", path_prefix "/api")']],
    ],
    [
      'two catch-all routes',
      `${TWO}routes:\n  - upstream: app\n  - upstream: api\n    match: {path_prefix: /}\n`,
      [['routes.1', 10, 'same match as routes.0 (path_prefix "/")']],
    ],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })

  test('a route naming an invalid upstream is not reported twice', () => {
    expectProblems(`${TWO}  "bad name":\n    servers: [{url: "http://h"}]\nroutes:\n  - upstream: bad name\n  - upstream: app\n    match: {host: x.com}\n`, [
      ['upstreams.bad name', 8, 'may only contain'],
    ])
  })

  test('the same path under different hosts is fine, and a wildcard differs from the exact host', () => {
    const yaml = `${TWO}routes:\n${route('{host: a.example.com}')}${route('{host: "*.example.com"}')}${route('{path_prefix: /}', 'api')}`
    expect(parseConfig(yaml).ok).toBe(true)
  })
})

describe('several problems at once', () => {
  test('every problem in the file is reported, in line order', () => {
    const yaml = `listeners:
  - port: 8080
  - port: 8080
admin: {port: 8080}
workers: 0
log: {level: loud}
upstreams:
  app:
    sevrers:
      - url: http://127.0.0.1:3001
    timeouts:
      connect: 2
  api:
    servers:
      - url: ftp://127.0.0.1:4001
        weight: 0
routes:
  - match: {host: "a.*.com", path_prefix: api}
    upstream: nope
`
    const result = parseConfig(yaml)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.problems.map(formatProblem)).toEqual([
      'listeners.1.port: port 8080 is already used by listeners.0 (line 3)',
      'admin.port: port 8080 is also used by listeners.0 (line 4)',
      'workers: must be an integer from 1 to 256 or "auto" for one worker per CPU (got 0) (line 5)',
      'log.level: must be one of fatal, error, warn, info, debug, trace, silent (got "loud") (line 6)',
      'upstreams.app.sevrers: unknown key "sevrers"; did you mean "servers"? (line 9)',
      'upstreams.app.servers: required (line 9)',
      'upstreams.app.timeouts.connect: needs a unit: write it like "2s" or "250ms", not a bare number (got 2) (line 12)',
      'upstreams.api.servers.0.url: must be an http:// or https:// URL such as http://host:port, or unix:/path for a Unix socket (got protocol "ftp:") (line 15)',
      'upstreams.api.servers.0.weight: must be an integer from 1 to 1000 (got 0) (line 16)',
      'routes.0.match.host: a wildcard is only allowed as the whole first label, as in "*.example.com" (got "a.*.com"); leave host out to match any host (line 18)',
      'routes.0.match.path_prefix: must start with "/" (got "api") (line 18)',
      'routes.0.upstream: unknown upstream "nope" (line 19)',
    ])
  })
})

describe('listener limits', () => {
  test.each([
    ['a size without a unit it knows', 'max_body_size: 10q', 'listeners.0.max_body_size', /must be a size/],
    ['a negative connection cap', 'max_connections: -1', 'listeners.0.max_connections', /./],
    ['a head limit too small to parse a request', 'max_header_size: 100', 'listeners.0.max_header_size', /between 1024 and/],
    ['request shorter than request_head', 'timeouts: { request_head: 10s, request: 5s }', 'listeners.0.timeouts.request', /must not be shorter than request_head/],
    ['an unknown timeout', 'timeouts: { header: 5s }', 'listeners.0.timeouts.header', /unknown key/],
  ])('%s', (_, extra, path, message) => {
    const r = parseConfig(`listeners: [{ port: 8080, ${extra} }]\nupstreams: { app: { servers: [{ url: "http://127.0.0.1:1" }] } }\n`)
    expect(r.ok).toBe(false)
    const p = r.ok ? undefined : r.problems.find((x) => x.path === path)
    expect(p?.message).toMatch(message)
    expect(p?.line).toBe(1)
  })
})
