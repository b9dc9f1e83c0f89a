// redirect_https decisions (core/https-redirect.ts): the Location built from Host and target,
// ACME challenges passed on, hosts that would point elsewhere refused.
import { describe, expect, it } from 'vitest'
import { httpsRedirect } from '../../src/core/https-redirect.js'

describe('httpsRedirect', () => {
  it.each([
    ['the plain port is dropped', 'example.com:8080', '/a/b?x=1&y', null, 'https://example.com/a/b?x=1&y'],
    ['no port', 'Example.COM', '/', null, 'https://example.com/'],
    ['the HTTPS port when not 443', 'example.com:80', '/p', 8443, 'https://example.com:8443/p'],
    ['IPv4', '127.0.0.1:8080', '/', 8443, 'https://127.0.0.1:8443/'],
    ['IPv6 literal', '[::1]:8080', '/q?a', null, 'https://[::1]/q?a'],
    ['IPv6 literal without port', '[2001:DB8::1]', '/', null, 'https://[2001:db8::1]/'],
    ['a non-origin target goes to /', 'example.com', '*', null, 'https://example.com/'],
  ])('%s', (_why, host, target, port, location) => {
    expect(httpsRedirect(host, target, port)).toEqual({ kind: 'redirect', location })
  })

  it.each([
    ['ACME challenge', '/.well-known/acme-challenge/token123'],
  ])('%s: passed on to the routes', (_why, target) => {
    expect(httpsRedirect('example.com', target, null)).toEqual({ kind: 'pass' })
  })

  it.each([
    ['no Host', undefined],
    ['empty Host', ''],
    ['a path in Host', 'evil.example/x'],
    ['userinfo in Host', 'user@evil.example'],
    ['a bad port', 'example.com:80x'],
    ['a bad IPv6 literal', '[zz::1]'],
    ['an unclosed IPv6 literal', '[::1'],
    ['a leading dot', '.example.com'],
  ])('%s: refused', (_why, host) => {
    expect(httpsRedirect(host, '/', null)).toEqual({ kind: 'bad_host' })
  })
})
