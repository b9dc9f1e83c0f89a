// The upstream keys that pin a client to a server: `hash_key` (what `balance: hash`
// hashes) and `sticky` (a cookie naming the server). Kept apart from upstreams.ts so the
// rules of these two keys read in one place: hash_key is required with `balance: hash`
// and refused with any other balance; header and cookie names must be RFC 9110 tokens.

import { DEFAULTS } from './defaults.js'
import { checkMap, readDuration, readString } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import type { BalanceName, HashKeyConfig, StickyConfig } from './types.js'

/** RFC 9110 token: header field names and cookie names (RFC 6265) are both tokens. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HASH_KEY_FORMS = 'client_ip, path, header:NAME or cookie:NAME'
const STICKY_KEYS = ['cookie', 'max_age']

/** `balance` null: the balance itself is invalid (already reported): nothing to say about hash_key. */
export function readHashKey(c: Cursor, balance: BalanceName | null): HashKeyConfig | null {
  if (balance === null) return null
  if (balance !== 'hash') {
    if (!c.absent) {
      c.report(balance === 'ip_hash'
        ? 'applies to balance: hash only; ip_hash always hashes the client address (use balance: hash to choose the key)'
        : `applies to balance: hash only (this upstream has balance: ${balance})`)
    }
    return null
  }
  if (c.absent) return c.missing(null, `is required with balance: hash (${HASH_KEY_FORMS})`)
  const v = c.value
  if (typeof v !== 'string') {
    c.report(`must be one of ${HASH_KEY_FORMS} (got ${describe(v)})`)
    return null
  }
  if (v === 'client_ip' || v === 'path') return { source: v, name: '' }
  const colon = v.indexOf(':')
  const source = colon < 0 ? '' : v.slice(0, colon)
  if (source !== 'header' && source !== 'cookie') {
    c.report(`must be one of ${HASH_KEY_FORMS} (got ${describe(v)})`)
    return null
  }
  const name = v.slice(colon + 1)
  if (name === '') {
    c.report(`${source}: needs a ${source} name, e.g. "${source === 'header' ? 'header:X-User-Id' : 'cookie:session'}"`)
    return null
  }
  if (!TOKEN.test(name)) {
    c.report(`${describe(name)} is not a valid ${source} name (letters, digits and !#$%&'*+.^_\`|~- only)`)
    return null
  }
  return { source, name: source === 'header' ? name.toLowerCase() : name }
}

/** Absent -> no sticky cookie; `sticky: {}` -> the cookie `sy_server`, a session cookie. */
export function readSticky(c: Cursor): StickyConfig | null {
  if (c.absent) return null
  if (!checkMap(c, STICKY_KEYS)) return null
  const nameCursor = c.field('cookie')
  const cookie = readString(nameCursor, DEFAULTS.stickyCookie)
  if (cookie !== '' && !TOKEN.test(cookie)) {
    nameCursor.report(`${describe(cookie)} is not a valid cookie name (letters, digits and !#$%&'*+.^_\`|~- only)`)
  }
  const maxAge = c.field('max_age')
  return { cookie, maxAgeMs: maxAge.absent ? null : readDuration(maxAge, 0) }
}
