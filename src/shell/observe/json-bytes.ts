// JSON values written straight into a byte buffer, for the access log: one line per request.
// Measured with bench/micro/access-log.mjs: a template string copied into the buffer took
// ~600 ns a line and left ~1 KiB of garbage (its ropes, number strings, the flattened copy);
// writing the bytes directly takes ~400 ns and allocates nothing. Strings take an ASCII fast
// path and fall back to JSON.stringify for anything that needs escaping or is not ASCII.

/** Where bytes go: `buf[pos..]`. The caller makes sure there is room (see maxBytes*). */
export interface ByteSink {
  buf: Buffer
  pos: number
}

const QUOTE = 34
const BACKSLASH = 92
const ZERO = 48
const DOT = 46

/** Bytes that never change: copied as they are. */
export function putBytes(s: ByteSink, bytes: Uint8Array): void {
  s.buf.set(bytes, s.pos)
  s.pos += bytes.length
}

/** The most bytes putString can write for `str`: a quote each side, at most 6 per UTF-16 unit (`\u001f`). */
export function maxStringBytes(str: string): number {
  return 2 + 6 * str.length
}

/** `str` as a JSON string, quotes included. */
export function putString(s: ByteSink, str: string): void {
  const { buf } = s
  const start = s.pos
  let pos = start
  buf[pos++] = QUOTE
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
      // Rare (a request target with non-ASCII or control characters): let JSON.stringify escape it.
      s.pos = start + buf.write(JSON.stringify(str), start, 'utf8')
      return
    }
    buf[pos++] = c
  }
  buf[pos++] = QUOTE
  s.pos = pos
}

/** Digits of a non-negative integer up to 2^53 (no more than 16 bytes); anything else (NaN, negative, fractional, huge) writes 0. */
export function putUint(s: ByteSink, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) n = 0 // a bug upstream must not put a NUL byte in a log line
  if (n <= INT32_MAX) {
    putInt32(s, n | 0)
    return
  }
  // Beyond int32 (epoch milliseconds, sizes over 2 GiB) `%` on doubles is a slow library
  // call: split into int32 halves. n / 1e9 may round up to the next integer; fix that.
  let high = Math.floor(n / 1e9)
  let low = n - high * 1e9
  if (low < 0) {
    high--
    low += 1e9
  }
  putInt32(s, high)
  const { buf } = s
  let pos = s.pos + 9
  s.pos = pos
  for (let i = 0; i < 9; i++) {
    const q = (low / 10) | 0
    buf[--pos] = ZERO + low - q * 10
    low = q
  }
}

const INT32_MAX = 0x7fffffff

function putInt32(s: ByteSink, n: number): void {
  const { buf } = s
  let digits = 1
  for (let m = n; m >= 10; m = (m / 10) | 0) digits++
  let pos = s.pos + digits
  s.pos = pos
  while (n >= 10) {
    const q = (n / 10) | 0
    buf[--pos] = ZERO + n - q * 10
    n = q
  }
  buf[--pos] = ZERO + n
}

/**
 * `seconds` as milliseconds with at most three decimals, trailing zeros dropped: what
 * `Math.round(seconds * 1e6) / 1000` prints in JavaScript (0.137, 2.5, 12).
 */
export function putMillis(s: ByteSink, seconds: number): void {
  let us = Math.round(seconds * 1e6)
  if (!Number.isSafeInteger(us) || us < 0) us = 0 // a clock step back, or a bug: never a stray byte or an endless loop
  const whole = Math.floor(us / 1000)
  let frac = us - whole * 1000
  putUint(s, whole)
  if (frac === 0) return
  const { buf } = s
  buf[s.pos++] = DOT
  for (let unit = 100; frac !== 0; unit /= 10) {
    const d = Math.floor(frac / unit)
    buf[s.pos++] = ZERO + d
    frac -= d * unit
  }
}
