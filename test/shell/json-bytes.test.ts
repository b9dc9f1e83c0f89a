// The access log's byte encoder against JavaScript's own: every value must come out as the
// bytes of JSON.stringify / String(), within the bound the caller reserved.
import { describe, expect, it } from 'vitest'
import { maxStringBytes, putBytes, putMillis, putString, putUint, type ByteSink } from '../../src/shell/observe/json-bytes.js'
import { Rng } from '../helpers/prng.js'

/** A sink with a sentinel after `room` bytes, so writing past the reserved room shows. */
function encode(room: number, put: (s: ByteSink) => void): string {
  const s: ByteSink = { buf: Buffer.alloc(room + 8, 0xee), pos: 0 }
  put(s)
  expect(s.pos).toBeLessThanOrEqual(room)
  expect(s.buf.subarray(room).every((b) => b === 0xee)).toBe(true)
  return s.buf.toString('utf8', 0, s.pos)
}

describe('putString', () => {
  it.each([
    [''], ['/'], ['/api/items?id=42&x=y'], ['GET'], ['a"b'], ['back\\slash'], ['tab\there'], ['nl\n'], ['\u0000\u001f'],
    ['\u007f'], ['/caf\u00e9'], ['/\u4e2d\u6587'], ['/\ud83d\ude00'], ['lone \ud800 high'], ['lone \udc00 low'], ['%2e%2e/%00'],
    ['\u2028\u2029'], ['~!*()\'<>'],
  ])('%j comes out as JSON.stringify does', (str) => {
    expect(encode(maxStringBytes(str), (s) => putString(s, str))).toBe(JSON.stringify(str))
  })

  it('keeps to its bound and to JSON.stringify for 2,000 random strings of every kind of code unit', () => {
    const rng = new Rng(0x15a11)
    const pools = [[0x20, 0x7e], [0, 0x1f], [0x80, 0x7ff], [0x800, 0xffff], [0xd800, 0xdfff]] as const
    for (let i = 0; i < 2_000; i++) {
      const str = rng.string(pools, 40)
      expect(encode(maxStringBytes(str), (s) => putString(s, str))).toBe(JSON.stringify(str))
    }
  })

  it('writes after what is already in the sink', () => {
    expect(encode(64, (s) => { putBytes(s, Buffer.from('{"a":')); putString(s, 'x"y'); putBytes(s, Buffer.from('}')) })).toBe('{"a":"x\\"y"}')
  })
})

describe('putUint', () => {
  it.each([0, 1, 9, 10, 99, 100, 101, 1000, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 1_795_352_379_612, 2 ** 53 - 1])('%i', (n) => {
    expect(encode(16, (s) => putUint(s, n))).toBe(String(n))
  })
})

describe('putUint: what is not a count', () => {
  it.each([NaN, -1, 1.5, Infinity, -Infinity, 2 ** 53])('%s writes 0, never a stray byte', (n) => {
    expect(encode(16, (s) => putUint(s, n))).toBe('0')
  })
})

describe('putMillis', () => {
  it.each([0, 0.000001, 0.0000004, 0.0000005, 0.000137, 0.00013, 0.0001, 0.001, 0.0025, 0.0125, 0.999999, 1, 2.5, 12.3456789, 30, 3600.0004, 86400 * 365])('%s s', (seconds) => {
    expect(encode(20, (s) => putMillis(s, seconds))).toBe(String(Math.round(seconds * 1e6) / 1000))
  })

  it('matches Math.round(s * 1e6) / 1000 for 10,000 random durations from 1 µs to an hour', () => {
    const rng = new Rng(0xd0e5)
    for (let i = 0; i < 10_000; i++) {
      const seconds = 10 ** (rng.float() * 9.6 - 6)
      expect(encode(20, (s) => putMillis(s, seconds))).toBe(String(Math.round(seconds * 1e6) / 1000))
    }
  })

  it.each([-0.5, NaN, Infinity])('writes 0 for a duration that is not one (%s)', (seconds) => {
    expect(encode(20, (s) => putMillis(s, seconds))).toBe('0')
  })
})
