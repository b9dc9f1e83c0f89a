// Table tests of the pure policy decisions (src/core/policies/): GCRA with an injected clock,
// rewrite_prefix, redirect templates, header rules and their load-time checks, allow/deny,
// Basic credentials, htpasswd lines.
import { describe, expect, it } from 'vitest'
import { BlockList } from 'node:net'
import { gcraCheck, gcraParams, wholeSeconds } from '../../../src/core/policies/gcra.js'
import { compileRewrite, rewritePath } from '../../../src/core/policies/rewrite.js'
import { compileRedirect, redirectLocation } from '../../../src/core/policies/redirect.js'
import { applyHeaderRules, compileHeaderRules, headerNameProblem, headerValueProblem } from '../../../src/core/policies/header-rules.js'
import { accessAllowed } from '../../../src/core/policies/access.js'
import { parseBasic } from '../../../src/core/policies/basic-auth.js'
import { parseHtpasswd } from '../../../src/core/policies/htpasswd.js'
import { rateLimitPolicy, rateLimitState } from '../../../src/core/policies/ratelimit-headers.js'

describe('GCRA', () => {
  // [requests, per ms, burst, request times (ms), expected allowed pattern]
  const rows: [number, number, number, number[], string][] = [
    [1, 1000, 0, [0, 1, 999, 1000, 1500, 2000], 'YNNYNY'],
    [2, 1000, 1, [0, 0, 0, 0, 500, 500], 'YYNNYN'],
    [10, 1000, 4, [0, 0, 0, 0, 0, 0, 100, 100], 'YYYYYNYN'],
    [100, 1000, 0, [0, 5, 10, 15, 20], 'YNYNY'],
  ]
  it.each(rows)('%i per %i ms, burst %i', (requests, per, burst, times, want) => {
    const g = gcraParams(requests, per, burst)
    let tat = 0
    let got = ''
    for (const t of times) {
      const r = gcraCheck(g, tat, t)
      if (r.allowed) tat = r.tat
      got += r.allowed ? 'Y' : 'N'
    }
    expect(got).toBe(want)
  })

  it('remaining, reset and retry after', () => {
    const g = gcraParams(2, 1000, 1) // T 500 ms, two at once
    const a = gcraCheck(g, 0, 10_000)
    expect(a).toMatchObject({ allowed: true, remaining: 1, resetMs: 500 })
    const b = gcraCheck(g, a.tat, 10_000)
    expect(b).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 })
    const c = gcraCheck(g, b.tat, 10_100)
    expect(c).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 400 })
    expect(c.tat).toBe(b.tat)
    expect([wholeSeconds(0), wholeSeconds(1), wholeSeconds(1000), wholeSeconds(1001)]).toEqual([0, 1, 1, 2])
  })

  it('RateLimit header fields (draft-ietf-httpapi-ratelimit-headers)', () => {
    expect(rateLimitPolicy('api', 100, 60_000)).toBe('"api";q=100;w=60')
    expect(rateLimitState('a"b', 0, 3)).toBe('"a\\"b";r=0;t=3')
  })
})

describe('rewrite_prefix', () => {
  const rows: [string, string, string, string][] = [
    ['/api', '/', '/api/x?q=1', '/x?q=1'],
    ['/api', '/', '/api', '/'],
    ['/api', '/', '/api?q', '/?q'],
    ['/api', '/v2', '/api/x', '/v2/x'],
    ['/api', '/v2/', '/api', '/v2'],
    ['/api', '/v2', '/api?q', '/v2?q'],
    ['/', '/app', '/x/y', '/app/x/y'],
    ['/', '/', '/x', '/x'],
  ]
  it.each(rows)('route %s, rewrite_prefix %s: %s -> %s', (prefix, rewrite, url, want) => {
    expect(rewritePath(compileRewrite(prefix, rewrite), url)).toBe(want)
  })
})

describe('redirect', () => {
  const rows: [string, string | undefined, string, string][] = [
    ['https://example.com{path}', 'old.example.com:8080', '/a?b=1', 'https://example.com/a?b=1'],
    ['https://{host}{path}', 'site.test:80', '/x', 'https://site.test/x'],
    ['https://{host}/', '[::1]:8080', '/x', 'https://[::1]/'],
    ['/maintenance.html', 'a', '/x', '/maintenance.html'],
    ['https://{host}{path}', undefined, '/', 'https:///'],
  ]
  it.each(rows)('%s with Host %s and %s', (to, host, url, want) => {
    const t = compileRedirect(to)
    if ('error' in t) throw new Error(t.error)
    expect(redirectLocation(t, host, url)).toBe(want)
  })
  it.each([['https://x{query}', 'unknown placeholder {query}'], ['https://x{path', 'without its "}"'], ['https://x}', 'without its "{"']])('refuses %s', (to, message) => {
    const t = compileRedirect(to)
    expect('error' in t ? t.error : '').toContain(message)
  })
})

describe('header rules', () => {
  it('remove, then set (replaces every copy), then add', () => {
    const rules = compileHeaderRules({ set: [['X-Env', 'prod'], ['Host', 'app.internal']], add: [['X-Tag', 'a']], remove: ['X-Debug', 'server'] })
    const flat = ['Host', 'client.test', 'X-Debug', '1', 'x-env', 'dev', 'X-ENV', 'test', 'Server', 'x', 'X-Tag', 'z', 'Accept', '*/*']
    applyHeaderRules(flat, rules)
    expect(flat).toEqual(['X-Tag', 'z', 'Accept', '*/*', 'X-Env', 'prod', 'Host', 'app.internal', 'X-Tag', 'a'])
  })
  const names: [string, 'set' | 'add' | 'remove', 'request' | 'response', string | undefined][] = [
    ['X-Env', 'set', 'request', undefined],
    ['Host', 'set', 'request', undefined],
    ['Host', 'add', 'request', 'only be replaced with `set`'],
    ['host', 'remove', 'request', 'only be replaced with `set`'],
    ['Host', 'set', 'response', 'request header'],
    ['Content-Length', 'set', 'response', 'framing'],
    ['transfer-encoding', 'remove', 'request', 'framing'],
    ['Connection', 'add', 'response', 'hop-by-hop'],
    ['Keep-Alive', 'set', 'request', 'hop-by-hop'],
    ['Upgrade', 'remove', 'request', 'hop-by-hop'],
    ['TE', 'set', 'request', 'hop-by-hop'],
    ['Trailer', 'set', 'response', 'hop-by-hop'],
    ['X-Request-Id', 'set', 'response', 'switchyard sets it'],
    ['Bad Name', 'set', 'request', 'not a valid header name'],
    ['X:Y', 'add', 'request', 'not a valid header name'],
  ]
  it.each(names)('%s via %s on %s', (name, kind, dir, want) => {
    const problem = headerNameProblem(name, kind, dir)
    if (want === undefined) expect(problem).toBeUndefined()
    else expect(problem).toContain(want)
  })
  const values: [string, boolean][] = [['max-age=31536000', true], ['a b\tc', true], ['', true], ['x\r\nSet-Cookie: a=b', false], ['x\n', false], [' lead', false], ['trail ', false], ['nul\0', false], ['bell\x07', false], ['caf\xe9', true]]
  it.each(values)('value %j valid: %s', (value, ok) => {
    expect(headerValueProblem(value) === undefined).toBe(ok)
  })
})

describe('allow / deny', () => {
  const list = (...cidrs: [string, number, 'ipv4' | 'ipv6'][]): BlockList => {
    const b = new BlockList()
    for (const [a, p, t] of cidrs) b.addSubnet(a, p, t)
    return b
  }
  const office = list(['10.0.0.0', 8, 'ipv4'], ['2001:db8::', 32, 'ipv6'])
  const bad = list(['10.6.6.0', 24, 'ipv4'])
  const rows: [string, boolean, boolean][] = [
    // address, allowed by allow=office, allowed by allow=office + deny=bad
    ['10.1.2.3', true, true],
    ['::ffff:10.1.2.3', true, true],
    ['10.6.6.6', true, false],
    ['::ffff:10.6.6.6', true, false],
    ['192.168.1.1', false, false],
    ['2001:db8::1', true, true],
    ['2001:db9::1', false, false],
    ['', false, false],
  ]
  it.each(rows)('%s', (address, allowOnly, both) => {
    expect(accessAllowed({ allow: office, deny: null }, address)).toBe(allowOnly)
    expect(accessAllowed({ allow: office, deny: bad }, address)).toBe(both)
  })
  it('deny only', () => {
    expect(accessAllowed({ allow: null, deny: bad }, '10.6.6.1')).toBe(false)
    expect(accessAllowed({ allow: null, deny: bad }, '8.8.8.8')).toBe(true)
  })
})

describe('Basic credentials', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const dec = (s: string): string => Buffer.from(s, 'base64').toString('utf8')
  const rows: [string | undefined, { user: string; password: string } | null][] = [
    [`Basic ${b64('alice:secret')}`, { user: 'alice', password: 'secret' }],
    [`basic ${b64('bob:a:b')}`, { user: 'bob', password: 'a:b' }],
    [`Basic ${b64('nocolon')}`, null],
    ['Bearer abc', null],
    ['Basic !!!', null],
    [undefined, null],
    [`Basic ${'A'.repeat(5000)}`, null],
  ]
  it.each(rows)('%s', (header, want) => {
    expect(parseBasic(header, dec)).toEqual(want)
  })
})

describe('htpasswd', () => {
  const bcrypt = '$2y$05$abcdefghijklmnopqrstuu5Yd1QX3Y0YpD9pQ4ni2uHt1y7bX1xG2'
  it('accepts bcrypt and {SHA} (noted), skips comments, refuses the rest with line numbers', () => {
    const text = [
      '# staff', `alice:${bcrypt}`, '', 'old:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=',
      'plain:hunter2', 'apr:$apr1$abc$defghijklmnopqrstuvwx', 'crypt:abJnggxhB/yWI', 'nohash', `alice:${bcrypt}`,
    ].join('\n')
    const r = parseHtpasswd(text)
    expect([...r.users.keys()]).toEqual(['alice', 'old'])
    expect(r.shaLines).toEqual([4])
    expect(r.problems.map((p) => [p.line, p.message.split(':')[0]])).toEqual([
      [5, 'user "plain"'], [6, 'user "apr"'], [7, 'user "crypt"'], [8, 'not "user'], [9, 'user "alice" is listed twice'],
    ])
    expect(r.problems[0]!.message).toContain('plain-text')
    expect(r.problems[1]!.message).toContain('MD5-apr1')
    expect(r.problems[2]!.message).toContain('crypt')
  })
})
