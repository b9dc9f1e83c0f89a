// The sticky cookie (`sticky:` on an upstream): its value names a server opaquely, and
// the Set-Cookie header that pins a client to it. The value is a 64-bit hash of the
// upstream name and the server id (host:port) as 16 hex digits: the address is not
// leaked, and every worker process and every restart computes the same value, so the
// workers agree on a cookie without sharing state. A value that names no server of the
// upstream (garbled, or a server since removed) is simply not found: the request is
// balanced as usual and gets a new cookie.

import { hash32 } from './hash32.js'

const SEED_HIGH = 0x9e3779b9
const SEED_LOW = 0x85ebca6b

export function stickyValue(upstream: string, serverId: string): string {
  const text = `${upstream}\n${serverId}`
  return hex8(hash32(text, SEED_HIGH)) + hex8(hash32(text, SEED_LOW))
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}

/**
 * The Set-Cookie value: Path=/ (the whole site goes to one server), HttpOnly (scripts have
 * no use for it), SameSite=Lax; Max-Age only when `max_age` is set (else a session
 * cookie); Secure when the client came over TLS (`secure`, false until switchyard has
 * TLS listeners).
 */
export function stickySetCookie(cookie: string, value: string, maxAgeMs: number | null, secure: boolean): string {
  const maxAge = maxAgeMs === null ? '' : `; Max-Age=${Math.max(1, Math.ceil(maxAgeMs / 1000))}`
  return `${cookie}=${value}; Path=/${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/**
 * Where the value of cookie `name` starts in a Cookie header ("a=1; sy_server=abc"), or
 * -1; cookieEnd() gives where it ends. No allocation: the request path compares or
 * hashes the value in place.
 */
export function cookieStart(header: string, name: string): number {
  let at = 0
  while (at < header.length) {
    while (header.charCodeAt(at) === 0x20 || header.charCodeAt(at) === 0x09) at++ // leading spaces
    const semi = header.indexOf(';', at)
    const end = semi < 0 ? header.length : semi
    if (header.startsWith(name, at) && header.charCodeAt(at + name.length) === 0x3d /* = */ && at + name.length < end) {
      return at + name.length + 1
    }
    at = end + 1
  }
  return -1
}

/** The end (exclusive) of the cookie value starting at `start`: the next ";" or the end, trailing spaces dropped. */
export function cookieEnd(header: string, start: number): number {
  const semi = header.indexOf(';', start)
  let end = semi < 0 ? header.length : semi
  while (end > start && (header.charCodeAt(end - 1) === 0x20 || header.charCodeAt(end - 1) === 0x09)) end--
  return end
}
