// Issue #16 items 2, 6, 7: Unix-socket servers, the probes' Host and headers, and routes'
// names and timeouts: values, and every bad value reported with its key path and line.
import { describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { configOfText, expectProblems, type ExpectedProblem } from '../helpers/config.js'

type Expected = ExpectedProblem



// Line 5 is the server url; line 6 the first line added after it.
const BASE = `listeners: [{port: 8080}]
upstreams:
  app:
    servers:
      - url: http://127.0.0.1:3001
`

describe('unix: servers', () => {
  test('an absolute path: url and id are unix:/path, the socket path is kept', () => {
    const c = configOfText(BASE.replace('http://127.0.0.1:3001', 'unix:/run/gunicorn/app.sock'))
    expect(c.upstreams[0]?.servers).toEqual([{ url: 'unix:/run/gunicorn/app.sock', id: 'unix:/run/gunicorn/app.sock', weight: 1, maxRequests: 0, socketPath: '/run/gunicorn/app.sock' }])
  })

  test('a socket that does not exist yet is fine (the app may start later)', () => {
    expect(parseConfig(BASE.replace('http://127.0.0.1:3001', 'unix:/nonexistent/dir/app.sock')).ok).toBe(true)
  })

  test.each<[string, string]>([
    ['unix:run/app.sock', 'must be absolute'],
    ['unix:./app.sock', 'must be absolute'],
    ['"unix:"', 'must be absolute'],
    ['unix:///run/app.sock', 'without "//"'],
    ['unix:/run/', 'names a file, not a directory'],
    ['"unix:/run/a b.sock"', 'must not contain spaces'],
    [`unix:/${'x'.repeat(120)}`, 'at most 107 bytes'],
  ])('%s', (url, message) => {
    expectProblems(BASE.replace('http://127.0.0.1:3001', url), [['upstreams.app.servers.0.url', 5, message]])
  })

  test('the same socket twice is a duplicate', () => {
    expectProblems(BASE.replace('http://127.0.0.1:3001', 'unix:/run/app.sock') + '      - url: unix:/run//app.sock\n', [
      ['upstreams.app.servers.1.url', 6, 'duplicate server unix:/run/app.sock'],
    ])
  })
})

describe('health_check.host and headers', () => {
  const hc = (body: string): string => `${BASE}    health_check:\n${body}`

  test('values: host as written, headers in order with their names as written', () => {
    const c = configOfText(hc('      host: app.local\n      headers: { X-Probe: "1", Accept: application/json, X-Num: 2 }\n'))
    expect(c.upstreams[0]?.healthCheck?.host).toBe('app.local')
    expect(c.upstreams[0]?.healthCheck?.headers).toEqual([['X-Probe', '1'], ['Accept', 'application/json'], ['X-Num', '2']])
  })

  test.each(['app.local', 'app.local:8000', '127.0.0.1', '[::1]:8000', 'localhost'])('host %s is accepted', (host) => {
    expect(configOfText(hc(`      host: "${host}"\n`)).upstreams[0]?.healthCheck?.host).toBe(host)
  })

  test.each<[string, string, Expected[]]>([
    ['host with a path', hc('      host: app.local/x\n'), [['upstreams.app.health_check.host', 7, 'must be a Host header value']]],
    ['host with a bad port', hc('      host: app.local:99999\n'), [['upstreams.app.health_check.host', 7, 'must be a Host header value']]],
    ['host port 0', hc('      host: app.local:0\n'), [['upstreams.app.health_check.host', 7, 'must be a Host header value']]],
    ['host with a scheme', hc('      host: http://app.local\n'), [['upstreams.app.health_check.host', 7, 'must be a Host header value']]],
    ['host a number', hc('      host: 8000\n'), [['upstreams.app.health_check.host', 7, 'must be a string']]],
    ['headers a list', hc('      headers: [X-Probe]\n'), [['upstreams.app.health_check.headers', 7, 'must be a map of header name -> value']]],
    ['a header name with a space', hc('      headers: { "X Probe": "1" }\n'), [['upstreams.app.health_check.headers.X Probe', 7, 'is not a header name']]],
    ['a header value with a line break', hc('      headers: { X-Probe: "a\\r\\nX-Evil: 1" }\n'), [['upstreams.app.health_check.headers.X-Probe', 7, 'must not contain line breaks']]],
    ['a header value that is a map', hc('      headers: { X-Probe: { a: 1 } }\n'), [['upstreams.app.health_check.headers.X-Probe', 7, 'must be a string (got a map)']]],
    ['Host in headers', hc('      headers: { Host: app.local }\n'), [['upstreams.app.health_check.headers.Host', 7, 'set the probes\' Host with health_check.host']]],
    ['Content-Length in headers', hc('      headers: { content-length: "5" }\n'), [['upstreams.app.health_check.headers.content-length', 7, 'without a body']]],
    ['Connection in headers', hc('      headers: { Connection: keep-alive }\n'), [['upstreams.app.health_check.headers.Connection', 7, 'hop-by-hop']]],
    ['a header twice, in another case', hc('      headers: { X-Probe: "1", x-probe: "2" }\n'), [['upstreams.app.health_check.headers.x-probe', 7, 'listed twice']]],
    ['an unknown key', hc('      header: { X-Probe: "1" }\n'), [['upstreams.app.health_check.header', 7, 'did you mean "headers"?']]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })
})

describe('routes[].name and routes[].timeouts', () => {
  const routes = (body: string): string => `${BASE}routes:\n${body}`

  test('names default to route-<index>; timeouts are kept as written (absent keys stay the upstream\'s)', () => {
    const c = configOfText(routes('  - match: { path_prefix: /events }\n    upstream: app\n    name: events\n    timeouts: { idle: 1h }\n  - upstream: app\n'))
    expect(c.routes.map((r) => r.name)).toEqual(['events', 'route-1'])
    expect(c.routes[0]?.timeouts).toEqual({ idleMs: 3_600_000 })
    expect(c.routes[1]?.timeouts).toBeUndefined()
  })

  test.each<[string, string, Expected[]]>([
    ['a name with a space', routes('  - upstream: app\n    name: "my route"\n'), [['routes.0.name', 8, 'may only contain letters, digits']]],
    ['an empty name', routes('  - upstream: app\n    name: ""\n'), [['routes.0.name', 8, 'must not be empty']]],
    ['a name twice', routes('  - upstream: app\n    name: api\n  - upstream: app\n    match: { path_prefix: /x }\n    name: api\n'), [['routes.1.name', 11, 'already used by routes.0']]],
    ['a name that takes another route\'s default', routes('  - upstream: app\n  - upstream: app\n    match: { path_prefix: /x }\n    name: route-0\n'), [['routes.1.name', 10, 'already used by routes.0']]],
    ['an unnamed route whose default is taken', routes('  - upstream: app\n    name: route-1\n  - upstream: app\n    match: { path_prefix: /x }\n'), [['routes.1.name', 9, 'name this route, or rename the other one']]],
    ['timeouts not a map', routes('  - upstream: app\n    timeouts: 5s\n'), [['routes.0.timeouts', 8, 'must be a map with the keys response_headers, idle, connect']]],
    ['a timeout without a unit', routes('  - upstream: app\n    timeouts: { idle: 3600 }\n'), [['routes.0.timeouts.idle', 8, 'needs a unit']]],
    ['a zero timeout', routes('  - upstream: app\n    timeouts: { response_headers: 0s }\n'), [['routes.0.timeouts.response_headers', 8, 'must be greater than 0']]],
    ['connect per route', routes('  - upstream: app\n    timeouts: { connect: 1s }\n'), [['routes.0.timeouts.connect', 8, 'is set per upstream']]],
    ['an unknown timeout', routes('  - upstream: app\n    timeouts: { read: 1s }\n'), [['routes.0.timeouts.read', 8, 'unknown key']]],
    ['timeouts on a static route', routes('  - static: { root: / }\n    timeouts: { idle: 1s }\n'), [['routes.0.timeouts', 8, 'applies to routes with an `upstream` only']]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })
})
