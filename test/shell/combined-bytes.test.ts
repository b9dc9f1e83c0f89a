// The combined format's encoder: nginx's escaping (`\xHH` for `"`, `\`, bytes below 0x20 and
// above 0x7e), within the bound the caller reserved, and the time field (`%d/%b/%Y:%H:%M:%S %z`).
import { describe, expect, it } from 'vitest'
import { ClfClock, clfTime, maxClfBytes, putClfString } from '../../src/shell/observe/combined-bytes.js'
import type { ByteSink } from '../../src/shell/observe/json-bytes.js'
import { Rng } from '../helpers/prng.js'

/** `str` encoded in a sink with a sentinel after its bound, so writing past the reserved room shows. */
function encode(str: string): string {
  const room = maxClfBytes(str)
  const s: ByteSink = { buf: Buffer.alloc(room + 8, 0xee), pos: 0 }
  putClfString(s, str)
  expect(s.pos).toBeLessThanOrEqual(room)
  expect(s.buf.subarray(room).every((b) => b === 0xee)).toBe(true)
  return s.buf.toString('latin1', 0, s.pos)
}

/** What nginx writes for these bytes (ngx_http_log_escape), as the reference. */
function nginxEscape(bytes: Buffer): string {
  if (bytes.length === 0) return '-'
  let out = ''
  for (const b of bytes) out += b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)
  return out
}

describe('putClfString', () => {
  it.each([
    ['', '-'],
    ['/', '/'],
    ['/api/items?id=42&x=y', '/api/items?id=42&x=y'],
    ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (X11; Linux x86_64)'],
    ['a"b', 'a\\x22b'],
    ['back\\slash', 'back\\x5Cslash'],
    ['line\r\nbreak', 'line\\x0D\\x0Abreak'],
    ['tab\there', 'tab\\x09here'],
    ['\u0000\u001b[31m', '\\x00\\x1B[31m'],
    ['\u007f', '\\x7F'],
    // A fake field: the quote that would end the User-Agent is escaped.
    ['x" 200 1 "-" "y', 'x\\x22 200 1 \\x22-\\x22 \\x22y'],
    // Latin-1 characters are the bytes the client sent (Node reads header bytes as Latin-1).
    ['caf\u00c3\u00a9', 'caf\\xC3\\xA9'],
    ['\u00ff\u0080', '\\xFF\\x80'],
    ['j\u00f6rg', 'j\\xF6rg'],
    // Beyond Latin-1 (a basic_auth user decoded as UTF-8): its UTF-8 bytes.
    ['\u4e2d', '\\xE4\\xB8\\xAD'],
    ['\u0100', '\\xC4\\x80'],
    ['\ud83d\ude00', '\\xF0\\x9F\\x98\\x80'],
    ['lone \ud800 high', 'lone \\xEF\\xBF\\xBD high'],
    ['lone \udc00', 'lone \\xEF\\xBF\\xBD'],
  ])('%j -> %s', (str, want) => {
    expect(encode(str)).toBe(want)
  })

  it.each([
    ['a b', 'a\\x20b'],
    ['alice', 'alice'],
    ['', '-'],
  ])('as a token (%%h, %%u): %j -> %s, a space would split the field', (str, want) => {
    const s: ByteSink = { buf: Buffer.alloc(maxClfBytes(str)), pos: 0 }
    putClfString(s, str, true)
    expect(s.buf.toString('latin1', 0, s.pos)).toBe(want)
  })

  it.each([
    ['j\u00f6rg', 'j\\xC3\\xB6rg'],
    ['\u00e9 \u4e2d"', '\\xC3\\xA9\\x20\\xE4\\xB8\\xAD\\x22'],
    ['alice', 'alice'],
  ])('text (the basic_auth user): %j -> %s, its UTF-8 bytes', (str, want) => {
    const s: ByteSink = { buf: Buffer.alloc(maxClfBytes(str)), pos: 0 }
    putClfString(s, str, true, true)
    expect(s.buf.toString('latin1', 0, s.pos)).toBe(want)
  })

  it('every line-breaking or quoting byte is escaped, whatever the string: 2,000 random ones match nginx', () => {
    const rng = new Rng(0xc0b1)
    const pools = [[0x20, 0x7e], [0, 0x1f], [0x7f, 0xff], [0x100, 0xffff], [0xd800, 0xdfff]] as const
    for (let i = 0; i < 2_000; i++) {
      const str = rng.string(pools, 40)
      const out = encode(str)
      // The bytes nginx would have had: Latin-1 characters as bytes, the rest as UTF-8 (lone surrogates as U+FFFD).
      const bytes = Buffer.concat([...str].map((ch) => {
        const cp = ch.codePointAt(0)!
        return cp <= 0xff ? Buffer.from([cp]) : Buffer.from(cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : ch, 'utf8')
      }))
      expect(out).toBe(nginxEscape(bytes))
      expect(out).toMatch(/^[\x20-\x7e]+$/)
      expect(out).not.toMatch(/"/)
    }
  })
})

describe('clfTime', () => {
  it.each([
    [0, 0, '01/Jan/1970:00:00:00 +0000'],
    [Date.UTC(2026, 11, 6, 20, 8, 36, 999), 0, '06/Dec/2026:20:08:36 +0000'],
    [Date.UTC(2026, 11, 6, 20, 8, 36), 60, '06/Dec/2026:21:08:36 +0100'],
    [Date.UTC(2026, 11, 31, 23, 30, 0), 330, '01/Jan/2027:05:00:00 +0530'],
    [Date.UTC(2026, 0, 1, 3, 0, 0), -480, '31/Dec/2025:19:00:00 -0800'],
    [Date.UTC(2024, 1, 29, 12, 0, 5), -150, '29/Feb/2024:09:30:05 -0230'],
    [Date.UTC(2026, 6, 4, 9, 5, 7), 0, '04/Jul/2026:09:05:07 +0000'],
  ])('%i ms at %i minutes east: %s', (ms, offset, want) => {
    expect(clfTime(ms, offset)).toBe(want)
  })
})

describe('ClfClock', () => {
  it('formats once per second, in the local time zone, bracketed', () => {
    const clock = new ClfClock()
    const t = Date.UTC(2026, 11, 6, 20, 8, 36)
    const first = clock.at(t + 1)
    expect(first.toString('latin1')).toBe(`[${clfTime(t, -new Date(t).getTimezoneOffset())}]`)
    expect(clock.at(t + 999)).toBe(first) // the same bytes, not made again
    const next = clock.at(t + 1000)
    expect(next).not.toBe(first)
    expect(next.toString('latin1')).toBe(`[${clfTime(t + 1000, -new Date(t + 1000).getTimezoneOffset())}]`)
  })
})
