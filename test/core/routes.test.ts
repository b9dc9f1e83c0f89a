import { describe, expect, it } from 'vitest'
import { buildRouter, type RouteEntry } from '../../src/core/routes.js'

const r = (host: string | null, pathPrefix: string, target: string): RouteEntry<string> => ({ host, pathPrefix, target })

// One route set exercising every tier; each row names the expected target.
const ROUTES: RouteEntry<string>[] = [
  r(null, '/', 'any-root'),
  r(null, '/api', 'any-api'),
  r(null, '/api/v2', 'any-api-v2'),
  r('api.example.com', '/', 'exact-root'),
  r('api.example.com', '/api', 'exact-api'),
  r('shop.example.com', '/cart', 'shop-cart'),
  r('*.example.com', '/static', 'wild-static'),
  r('*.example.com', '/', 'wild-root'),
  r('*.eu.example.com', '/static', 'wild-eu-static'),
  r('*.only-prefix.test', '/x', 'wild-only-x'),
  r('[::1]', '/v6', 'ipv6'),
  r('10.0.0.1', '/ip', 'ipv4'),
]

type Row = readonly [host: string | undefined, url: string, expected: string | undefined, why: string]

const TABLE: Row[] = [
  // Host-less routes and prefixes.
  [undefined, '/', 'any-root', 'no Host: host-less routes only'],
  [undefined, '/api', 'any-api', 'prefix equals path'],
  [undefined, '/api/', 'any-api', 'trailing slash'],
  [undefined, '/api/x/y', 'any-api', 'deeper path'],
  [undefined, '/apix', 'any-root', 'no match off a segment boundary'],
  [undefined, '/api?q=1', 'any-api', 'query right after prefix'],
  [undefined, '/ap?i/v2', 'any-root', 'query is not part of the path'],
  [undefined, '/api/v2', 'any-api-v2', 'longest prefix wins'],
  [undefined, '/api/v2/x', 'any-api-v2', 'longest prefix, deeper'],
  [undefined, '/api/v2x', 'any-api', 'longer prefix off boundary falls back'],
  [undefined, '/api/v3?x=/api/v2', 'any-api', 'query content ignored'],
  [undefined, '/%61pi', 'any-root', 'no percent-decoding'],
  [undefined, '/API', 'any-root', 'path is case-sensitive'],
  ['unknown.org', '/api', 'any-api', 'unknown host falls to host-less'],
  ['', '/api', 'any-api', 'empty Host'],
  // Exact host.
  ['api.example.com', '/', 'exact-root', 'exact host'],
  ['api.example.com', '/api/x', 'exact-api', 'exact host, longest prefix'],
  ['API.Example.COM', '/api', 'exact-api', 'host case-insensitive'],
  ['api.example.com:8080', '/api', 'exact-api', 'port stripped'],
  ['Api.Example.Com:443', '/zzz', 'exact-root', 'case + port'],
  ['api.example.com.', '/api', 'exact-api', 'trailing dot of FQDN'],
  ['api.example.com', '/api/v2', 'exact-api', 'exact tier beats a longer host-less prefix'],
  // Exact host without matching prefix falls through to wildcard, then host-less.
  ['shop.example.com', '/cart/1', 'shop-cart', 'exact'],
  ['shop.example.com', '/static/a.css', 'wild-static', 'exact miss -> wildcard'],
  ['shop.example.com', '/other', 'wild-root', 'exact miss -> wildcard root'],
  // Wildcards.
  ['www.example.com', '/static/x', 'wild-static', 'wildcard'],
  ['a.b.example.com', '/', 'wild-root', 'wildcard, deeper label'],
  ['WWW.EXAMPLE.COM:81', '/static', 'wild-static', 'wildcard, case + port'],
  ['example.com', '/static', 'any-root', 'wildcard does not match the bare domain'],
  ['.example.com', '/', 'any-root', 'empty label is not a label'],
  ['badexample.com', '/', 'any-root', 'suffix must start at a dot'],
  ['x.eu.example.com', '/static/y', 'wild-eu-static', 'longer wildcard suffix wins'],
  ['x.eu.example.com', '/page', 'wild-root', 'longer wildcard without prefix -> shorter'],
  ['eu.example.com', '/static', 'wild-static', '*.eu... needs a label before eu'],
  ['a.only-prefix.test', '/x/1', 'wild-only-x', 'wildcard with prefix'],
  ['a.only-prefix.test', '/y', 'any-root', 'wildcard miss -> host-less'],
  // IP literals.
  ['[::1]:8080', '/v6/x', 'ipv6', 'IPv6 literal with port'],
  ['[::1]', '/v6', 'ipv6', 'IPv6 literal without port'],
  ['[::1]:8080', '/other', 'any-root', 'IPv6 exact miss'],
  ['[::2]:8080', '/v6', 'any-root', 'other IPv6'],
  ['10.0.0.1:3000', '/ip', 'ipv4', 'IPv4 with port'],
  // Absolute-form targets: host from the authority, path after it.
  ['ignored.org', 'http://api.example.com/api/x?y', 'exact-api', 'absolute-form'],
  [undefined, 'http://user@API.example.com:80/api', 'exact-api', 'absolute-form, userinfo, port'],
  [undefined, 'http://api.example.com', 'exact-root', 'absolute-form, empty path'],
  [undefined, 'http://api.example.com?q', 'exact-root', 'absolute-form, query only'],
  [undefined, '*', 'any-root', 'asterisk-form only matches "/"'],
]

describe('buildRouter', () => {
  const route = buildRouter(ROUTES)
  it.each(TABLE)('%s %s -> %s (%s)', (host, url, expected) => {
    expect(route(host, url)).toBe(expected)
  })
})

describe('buildRouter without a catch-all', () => {
  const route = buildRouter([
    r('api.example.com', '/api', 'exact-api'),
    r('*.example.com', '/static', 'wild'),
    r(null, '/health', 'health'),
  ])
  it.each<Row>([
    ['api.example.com', '/', undefined, 'no candidate -> 404'],
    ['api.example.com', '/apix', undefined, 'no segment match'],
    ['api.example.com', '/static/a', 'wild', 'exact miss -> wildcard'],
    ['api.example.com', '/health', 'health', 'exact + wildcard miss -> host-less'],
    [undefined, '/api', undefined, 'no Host, no host-less match'],
    [undefined, '*', undefined, 'asterisk without "/" route'],
    ['other.org', '/healthz', undefined, 'segment boundary on host-less'],
  ])('%s %s -> %s (%s)', (host, url, expected) => {
    expect(route(host, url)).toBe(expected)
  })
})

describe('buildRouter edge cases', () => {
  it('no routes: always undefined', () => {
    const route = buildRouter<string>([])
    expect(route('a.com', '/')).toBeUndefined()
    expect(route(undefined, '/x')).toBeUndefined()
  })

  it('duplicate (host, prefix): the first in the list wins', () => {
    const route = buildRouter([r(null, '/a', 'first'), r(null, '/a', 'second'), r('h.com', '/', 'h1'), r('h.com', '/', 'h2')])
    expect(route(undefined, '/a/b')).toBe('first')
    expect(route('h.com', '/')).toBe('h1')
  })

  it('only host routes: a request without Host is a miss', () => {
    const route = buildRouter([r('a.com', '/', 'a')])
    expect(route(undefined, '/')).toBeUndefined()
    expect(route('A.com', '/anything')).toBe('a')
  })

  it('targets are returned by identity', () => {
    const target = { name: 'app' }
    const route = buildRouter([{ host: null, pathPrefix: '/', target }])
    expect(route('x', '/')).toBe(target)
  })
})
