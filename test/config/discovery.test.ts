// Issue #18 item 2: the DNS discovery keys (servers[].dns, servers[].srv, resolve_interval,
// resolver): values and defaults, and every bad value reported with its key path and line.
// Nothing is looked up at load: a name that does not resolve is not a config error.
import { describe, expect, test } from 'vitest'
import { configOfText, expectProblems, type ExpectedProblem } from '../helpers/config.js'

type Expected = ExpectedProblem



// Line 5 is the first server; line 6 the first line added after it.
const upstream = (server: string, extra = ''): string => `listeners: [{port: 8080}]
upstreams:
  app:
    servers:
      - ${server}
${extra}`

describe('values', () => {
  test('dns: and srv: entries, with url: servers next to them; defaults', () => {
    const c = configOfText(upstream('url: http://127.0.0.1:3001', `      - dns: "App.Internal.:8000"
        weight: 3
        max_requests: 4
      - srv: _http._tcp.app.service.consul
`))
    const u = c.upstreams[0]!
    expect(u.servers.map((s) => s.id)).toEqual(['127.0.0.1:3001'])
    expect(u.discovery).toEqual([
      { kind: 'dns', name: 'app.internal', port: 8000, weight: 3, maxRequests: 4 },
      { kind: 'srv', name: '_http._tcp.app.service.consul', port: 0, weight: 0, maxRequests: 0 },
    ])
    expect(u.resolveIntervalMs).toBe(30_000)
    expect(u.resolver).toBeNull()
  })

  test.each<[string, string]>([
    ['127.0.0.1', '127.0.0.1:53'],
    ['127.0.0.1:8600', '127.0.0.1:8600'],
    ['::1', '[::1]:53'],
    ['[::1]:5353', '[::1]:5353'],
  ])('resolver %s -> %s', (raw, server) => {
    expect(configOfText(upstream('dns: app.internal:80', `    resolver: "${raw}"\n    resolve_interval: 5s\n`)).upstreams[0]?.resolver).toBe(server)
  })

  test('a max_requests on a dns: server allows a queue', () => {
    expect(configOfText(upstream('dns: app.internal:80', '        max_requests: 2\n    queue: {}\n')).upstreams[0]?.queue).not.toBeNull()
  })
})

describe('problems', () => {
  test.each<[string, string, Expected[]]>([
    ['dns without a port', upstream('dns: app.internal'), [['upstreams.app.servers.0.dns', 5, 'needs a port, as in "app.internal:8000"']]],
    ['dns with a scheme', upstream('dns: "http://app.internal:80"'), [['upstreams.app.servers.0.dns', 5, 'without a scheme']]],
    ['dns an IP', upstream('dns: "10.0.0.5:80"'), [['upstreams.app.servers.0.dns', 5, 'an IP address needs no lookup: write url: http://10.0.0.5:80']]],
    ['dns a bad port', upstream('dns: "app.internal:99999"'), [['upstreams.app.servers.0.dns', 5, 'from 1 to 65535']]],
    ['dns a bad name', upstream('dns: "app_x!.internal:80"'), [['upstreams.app.servers.0.dns', 5, 'must be a DNS name and a port']]],
    ['dns a number', upstream('dns: 8000'), [['upstreams.app.servers.0.dns', 5, 'must be a string']]],
    ['srv with a port', upstream('srv: "_http._tcp.app:80"'), [['upstreams.app.servers.0.srv', 5, 'an SRV record gives the port']]],
    ['srv a bad name', upstream('srv: "_http._tcp.a b"'), [['upstreams.app.servers.0.srv', 5, 'must be a DNS name']]],
    ['srv with a weight', upstream('srv: _http._tcp.app\n        weight: 2'), [['upstreams.app.servers.0.weight', 6, 'takes each SRV record\'s weight']]],
    ['url and dns together', upstream('url: http://127.0.0.1:1\n        dns: app.internal:80'), [['upstreams.app.servers.0.dns', 6, 'not both url and dns']]],
    ['dns twice', upstream('dns: app.internal:80', '      - dns: APP.internal.:80\n'), [['upstreams.app.servers.1.dns', 6, 'duplicate server dns: app.internal:80 (same as servers.0)']]],
    ['srv twice', upstream('srv: _a._tcp.x', '      - srv: _a._tcp.x\n'), [['upstreams.app.servers.1.srv', 6, 'duplicate server srv: _a._tcp.x']]],
    ['a typo', upstream('dsn: app.internal:80'), [['upstreams.app.servers.0.dsn', 5, 'did you mean "dns"?'], ['upstreams.app.servers.0.url', 5, 'required']]],
    ['resolve_interval under 1s', upstream('dns: a.b:80', '    resolve_interval: 500ms\n'), [['upstreams.app.resolve_interval', 6, 'must be at least 1s']]],
    ['resolve_interval without a unit', upstream('dns: a.b:80', '    resolve_interval: 30\n'), [['upstreams.app.resolve_interval', 6, 'needs a unit']]],
    ['resolver a name', upstream('dns: a.b:80', '    resolver: dns.internal\n'), [['upstreams.app.resolver', 6, 'a DNS server is not found by name']]],
    ['resolver a bad port', upstream('dns: a.b:80', '    resolver: "127.0.0.1:0"\n'), [['upstreams.app.resolver', 6, 'from 1 to 65535']]],
    ['an invalid dns: server still counts as one: its resolver is checked, not called out of place', upstream('dns: "10.0.0.1:80"', '    resolver: dns.internal\n'), [
      ['upstreams.app.servers.0.dns', 5, 'an IP address needs no lookup'],
      ['upstreams.app.resolver', 6, 'a DNS server is not found by name'],
    ]],
    ['srv with a weight and a port: both reported', upstream('srv: "_h._tcp.a:80"\n        weight: 2'), [
      ['upstreams.app.servers.0.srv', 5, 'an SRV record gives the port'],
      ['upstreams.app.servers.0.weight', 6, 'takes each SRV record\'s weight'],
    ]],
    ['resolver without dns servers', upstream('url: http://127.0.0.1:1', '    resolver: 127.0.0.1\n    resolve_interval: 5s\n'), [
      ['upstreams.app.resolver', 6, 'applies only to dns: and srv: servers'],
      ['upstreams.app.resolve_interval', 7, 'applies only to dns: and srv: servers'],
    ]],
  ])('%s', (_, yaml, expected) => {
    expectProblems(yaml, expected)
  })
})
