// The parts of an Apache/nginx "combined" access log line (log.access_log_format: combined),
// written straight into a byte buffer as json-bytes.ts does for JSON lines: nothing is
// allocated per line. Values are escaped as nginx escapes its log variables (ngx_http_log_escape,
// escape=default): `"`, `\`, bytes below 0x20 and above 0x7e become `\xHH`, so a client can put
// neither a line break nor a quote (a fake field) into a line, and every line is ASCII. Node reads
// header and request-line bytes as Latin-1, one character per byte, so a character is the byte
// the client sent; the basic_auth user, decoded from base64 as UTF-8, and any character beyond
// Latin-1 are escaped byte by byte in UTF-8. The time field is formatted once per second (ClfClock).
import type { ByteSink } from './json-bytes.js'

const QUOTE = 34
const BACKSLASH = 92
const DASH = 45
const HEX = Buffer.from('0123456789ABCDEF', 'latin1')

/**
 * The most bytes putClfString writes for `str`: `-` for an empty one, else `\xHH` (4 bytes)
 * per byte, and a UTF-16 unit is at most 3 UTF-8 bytes.
 */
export function maxClfBytes(str: string): number {
  return 1 + 12 * str.length
}

/**
 * `str` escaped (see the header), without quotes; `-` when empty, as Apache and nginx write an
 * empty field. `token`: a field outside quotes (%h, %u), where a space would split the field,
 * escapes spaces too (`\x20`; nginx does not: a basic_auth user "a b" would shift its fields).
 * `utf8`: `str` is text, not bytes read as Latin-1 (the basic_auth user, decoded from base64 as
 * UTF-8): every character from 0x80 up is written as its UTF-8 bytes, as the client sent them.
 */
export function putClfString(s: ByteSink, str: string, token = false, utf8 = false): void {
  const { buf } = s
  const n = str.length
  if (n === 0) {
    buf[s.pos++] = DASH
    return
  }
  let pos = s.pos
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i)
    if ((c > 0x20 && c <= 0x7e && c !== QUOTE && c !== BACKSLASH) || (c === 0x20 && !token)) {
      buf[pos++] = c
      continue
    }
    if (c < 0x80 || (c <= 0xff && !utf8)) {
      pos = putHex(buf, pos, c)
      continue
    }
    // Beyond Latin-1, or text: the code point's UTF-8 bytes, each escaped; a lone surrogate as U+FFFD.
    let cp = c
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = str.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
    if (cp < 0x800) {
      pos = putHex(buf, pos, 0xc0 | (cp >> 6))
    } else if (cp < 0x10000) {
      pos = putHex(buf, pos, 0xe0 | (cp >> 12))
      pos = putHex(buf, pos, 0x80 | ((cp >> 6) & 0x3f))
    } else {
      pos = putHex(buf, pos, 0xf0 | (cp >> 18))
      pos = putHex(buf, pos, 0x80 | ((cp >> 12) & 0x3f))
      pos = putHex(buf, pos, 0x80 | ((cp >> 6) & 0x3f))
    }
    pos = putHex(buf, pos, 0x80 | (cp & 0x3f))
  }
  s.pos = pos
}

function putHex(buf: Buffer, pos: number, byte: number): number {
  buf[pos++] = BACKSLASH
  buf[pos++] = 0x78 // x
  buf[pos++] = HEX[byte >> 4] as number
  buf[pos++] = HEX[byte & 15] as number
  return pos
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n))

/**
 * Apache's `%t` without its brackets, `06/Dec/2026:20:08:36 +0000` (`%d/%b/%Y:%H:%M:%S %z`):
 * `ms` (epoch milliseconds) in the time zone `offsetMinutes` east of UTC.
 */
export function clfTime(ms: number, offsetMinutes: number): string {
  const t = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000)
  const off = Math.abs(offsetMinutes)
  return `${pad2(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${String(t.getUTCFullYear()).padStart(4, '0')}:` +
    `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}:${pad2(t.getUTCSeconds())} ` +
    `${offsetMinutes < 0 ? '-' : '+'}${pad2(Math.floor(off / 60))}${pad2(off % 60)}`
}

/** The bracketed time field of a combined line, in the process's local time zone (as nginx and Apache write it), made once per second. */
export class ClfClock {
  #second = NaN
  #bytes = Buffer.alloc(0)

  /** `[06/Dec/2026:20:08:36 +0000]` for `ms` (Date.now()). */
  at(ms: number): Buffer {
    const second = Math.floor(ms / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#bytes = Buffer.from(`[${clfTime(ms, -new Date(ms).getTimezoneOffset())}]`, 'latin1')
    }
    return this.#bytes
  }
}
