// The sticky cookie (src/core/sticky.ts): an opaque value that is the same in every
// process and across restarts, its Set-Cookie header, and finding a cookie's value in a
// Cookie header in place.
import { describe, expect, it } from 'vitest'
import { cookieEnd, cookieStart, stickySetCookie, stickyValue } from '../../src/core/sticky.js'

describe('stickyValue', () => {
  it('is 16 hex digits, the same every time, and different per server and per upstream', () => {
    const v = stickyValue('app', '10.0.0.1:8000')
    expect(v).toMatch(/^[0-9a-f]{16}$/)
    expect(stickyValue('app', '10.0.0.1:8000')).toBe(v)
    expect(v).toBe(PINNED) // a restart or another worker computes the same
    expect(stickyValue('app', '10.0.0.2:8000')).not.toBe(v)
    expect(stickyValue('api', '10.0.0.1:8000')).not.toBe(v)
    expect(v).not.toContain('10')
  })
})

const PINNED = '31fd594ba2b04850'

describe('stickySetCookie', () => {
  it.each<[string, number | null, boolean, string]>([
    ['sy_server', null, false, 'sy_server=abc; Path=/; HttpOnly; SameSite=Lax'],
    ['sy_server', 3_600_000, false, 'sy_server=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax'],
    ['sid', 1, false, 'sid=abc; Path=/; Max-Age=1; HttpOnly; SameSite=Lax'],
    ['sy_server', null, true, 'sy_server=abc; Path=/; HttpOnly; SameSite=Lax; Secure'],
  ])('cookie %s, max_age %s ms, secure %s', (cookie, maxAge, secure, expected) => {
    expect(stickySetCookie(cookie, 'abc', maxAge, secure)).toBe(expected)
  })
})

describe('cookieStart / cookieEnd', () => {
  it.each<[string, string, string | null]>([
    ['sy_server=abc', 'sy_server', 'abc'],
    ['a=1; sy_server=abc', 'sy_server', 'abc'],
    ['a=1;sy_server=abc;b=2', 'sy_server', 'abc'],
    ['a=1; sy_server=abc ; b=2', 'sy_server', 'abc'],
    ['xsy_server=abc', 'sy_server', null],
    ['sy_server_old=abc', 'sy_server', null],
    ['sy_serverabc', 'sy_server', null],
    ['a=sy_server=abc', 'sy_server', null],
    ['sy_server=', 'sy_server', ''],
    ['sy_server=; b=2', 'sy_server', ''],
    ['', 'sy_server', null],
    [';;; ;', 'sy_server', null],
    ['sy_server=one; sy_server=two', 'sy_server', 'one'],
    ['io=abc123; sy_server=f00d', 'io', 'abc123'],
  ])('%j, cookie %s -> %j', (header, name, expected) => {
    const start = cookieStart(header, name)
    expect(start < 0 ? null : header.slice(start, cookieEnd(header, start))).toBe(expected)
  })
})
