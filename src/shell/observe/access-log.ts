// The access log: one line per request, to the same destination as the daemon's own lines.
// `log.access_log_format: json` (the default) writes it in the shape pino writes (level label,
// epoch-ms time, pid, fields, msg); `combined` writes Apache's combined format for goaccess & co.
// It does not go through a pino logger: measured with `npm run bench`, pino's generic serializer
// and a write per line cost ~20% of the throughput on small responses. The line is encoded
// straight into the log's byte buffer (json-bytes.ts, combined-bytes.ts): the constant parts
// are bytes made at config load (per process, per server), the rest a few strings and
// numbers; nothing is allocated. Room is reserved by a bound (at most 6 bytes per character
// for JSON, 12 for combined); when the bound is more than the writer's buffer has left, the
// line is encoded into a scratch buffer and copied by its real length instead, so long
// client-sent values (User-Agent, Referer) do not make the writer flush half-empty buffers.
// Client-sent header values are cut to MAX_HEADER_CHARS characters (a cut copy is the only
// allocation, and only for such a value).
import type { RequestLogFields } from '../../core/headers.js'
import type { AccessLogFormat } from '../../config/types.js'
import { ClfClock, maxClfBytes, putClfString } from './combined-bytes.js'
import { maxStringBytes, putBytes, putMillis, putString, putUint, type ByteSink } from './json-bytes.js'
import type { LineWriter } from './line-writer.js'
import { logLines } from './log.js'

/** Host, User-Agent and Referer are logged up to this many characters (bytes, as Node reads them). */
export const MAX_HEADER_CHARS = 1024

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8')

const REQUEST_ID = bytes(',"request_id":')
const METHOD = bytes(',"method":')
const PATH = bytes(',"path":')
const CLIENT = bytes(',"client":')
const STATUS = bytes(',"status":')
const DURATION = bytes(',"duration_ms":')
const BYTES_IN = bytes(',"bytes_in":')
const BYTES_OUT = bytes(',"bytes_out":')
const RETRIES = bytes(',"retries":')
const ERROR = bytes(',"error":')
const CACHE = bytes(',"cache":')
const USER = bytes(',"user":')
const HTTP_VERSION = bytes(',"http_version":')
const HOST = bytes(',"host":')
const USER_AGENT = bytes(',"user_agent":')
const REFERER = bytes(',"referer":')
const END = bytes(',"msg":"request"}\n')
/** Every constant part of a JSON line plus the numbers (at most 16 digits each: time, status, sizes, retries; 20 for the duration). */
const FIXED_MAX = REQUEST_ID.length + METHOD.length + PATH.length + CLIENT.length + STATUS.length + DURATION.length + BYTES_IN.length +
  BYTES_OUT.length + RETRIES.length + ERROR.length + CACHE.length + USER.length + HTTP_VERSION.length + HOST.length + USER_AGENT.length +
  REFERER.length + END.length + 6 * 16 + 20

// `%h - %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`
const SPACE = 32
const DASH = 45
const USER_SEP = bytes(' - ')
const REQUEST_OPEN = bytes(' "')
const HTTP = bytes(' HTTP/')
const REQUEST_CLOSE = bytes('" ')
const REFERER_OPEN = bytes(' "')
const AGENT_OPEN = bytes('" "')
const LINE_END = bytes('"\n')
/** The constant parts of a combined line, the time (28 bytes up to the year 9999), the status and the size. */
const COMBINED_FIXED_MAX = USER_SEP.length + 1 + 32 + REQUEST_OPEN.length + 1 + HTTP.length + REQUEST_CLOSE.length + 16 + 1 + 16 +
  REFERER_OPEN.length + AGENT_OPEN.length + LINE_END.length

/** Scratch buffers up to this size are kept for the next long line; a longer one is made for its line alone. */
const SCRATCH_KEEP = 256 * 1024

const capped = (v: string | undefined): string => (v === undefined ? '' : v.length > MAX_HEADER_CHARS ? v.slice(0, MAX_HEADER_CHARS) : v)
const cappedLength = (v: string | undefined): number => (v === undefined ? 0 : Math.min(v.length, MAX_HEADER_CHARS))

export class AccessLog {
  readonly #head: Buffer
  readonly #lines: LineWriter
  readonly #combined: boolean
  readonly #clock = new ClfClock()
  #scratch: ByteSink = { buf: Buffer.allocUnsafeSlow(16 * 1024), pos: 0 }

  constructor(format: AccessLogFormat = 'json', pid = process.pid, lines = logLines()) {
    this.#head = bytes(`{"level":"info","pid":${pid},"kind":"access","time":`)
    this.#lines = lines
    this.#combined = format === 'combined'
  }

  /**
   * The `,"upstream":..,"server":..` part of a line, made once per server at config load.
   * Names come from the validated config: JSON-safe, but escaped anyway.
   */
  static target(upstream: string, server: string): Buffer {
    return bytes(`,"upstream":${JSON.stringify(upstream)},"server":${JSON.stringify(server)}`)
  }

  /** The target and route parts of a line answered before any route matched (404, 400, a redirect). */
  static readonly NO_TARGET = AccessLog.target('', '')
  static readonly NO_ROUTE = bytes(',"route":""')

  /**
   * `fields`: the request's id (sane, headers.ts, or a UUID), Host, User-Agent, Referer and
   * basic_auth user: the UpstreamHeaders of the request, or for an answer given before they
   * were made (https-redirect.ts), the same read from req.headers.
   * `method` is an HTTP token; `path` the request target.
   * `client`: the client address (runtime/client-address.ts).
   * `target`, `route`: the JSON parts made at load (target(), ProxyRoute.accessRoute); NO_ROUTE when no route matched.
   * `cache`: the X-Cache result on a route with a cache (HIT, MISS, STALE, BYPASS), else ''.
   * `httpVersion`: Node's req.httpVersion ("1.1", "1.0", "2.0").
   */
  write(fields: RequestLogFields, method: string, path: string, client: string, status: number, target: Buffer, route: Buffer, seconds: number, bytesIn: number, bodyBytesOut: number, retries: number, error: string, cache = '', httpVersion = '1.1'): void {
    const lines = this.#lines
    const max = this.#combined
      ? COMBINED_FIXED_MAX + maxClfBytes(client) + maxClfBytes(fields.authUser) + maxClfBytes(method) + maxClfBytes(path) + maxClfBytes(httpVersion) +
        12 * (cappedLength(fields.referer) + cappedLength(fields.userAgent)) + 2
      : FIXED_MAX + this.#head.length + target.length + route.length + maxStringBytes(fields.requestId) + maxStringBytes(method) +
        maxStringBytes(path) + maxStringBytes(client) + maxStringBytes(error) + maxStringBytes(cache) + maxStringBytes(fields.authUser) +
        maxStringBytes(httpVersion) + 6 * (cappedLength(fields.host) + cappedLength(fields.userAgent) + cappedLength(fields.referer)) + 6
    // In place when it surely fits what is left of the writer's buffer (begin() then flushes nothing).
    const inPlace = max <= lines.room
    const s = inPlace ? lines.begin(max) : this.#scratchFor(max)
    if (this.#combined) this.#putCombined(s, fields, method, path, client, status, bodyBytesOut, httpVersion)
    else this.#putJson(s, fields, method, path, client, status, target, route, seconds, bytesIn, bodyBytesOut, retries, error, cache, httpVersion)
    if (inPlace) lines.end()
    else lines.writeBytes(s.buf, s.pos)
  }

  #scratchFor(max: number): ByteSink {
    const s = this.#scratch
    s.pos = 0
    if (max <= s.buf.length) return s
    const big: ByteSink = { buf: Buffer.allocUnsafeSlow(max), pos: 0 }
    if (max <= SCRATCH_KEEP) this.#scratch = big
    return big
  }

  #putJson(s: ByteSink, fields: RequestLogFields, method: string, path: string, client: string, status: number, target: Buffer, route: Buffer, seconds: number, bytesIn: number, bodyBytesOut: number, retries: number, error: string, cache: string, httpVersion: string): void {
    putBytes(s, this.#head)
    putUint(s, Date.now())
    putBytes(s, REQUEST_ID)
    putString(s, fields.requestId)
    putBytes(s, METHOD)
    putString(s, method)
    putBytes(s, PATH)
    putString(s, path)
    putBytes(s, CLIENT)
    putString(s, client)
    putBytes(s, STATUS)
    putUint(s, status)
    putBytes(s, target)
    putBytes(s, route)
    putBytes(s, DURATION)
    putMillis(s, seconds)
    putBytes(s, BYTES_IN)
    putUint(s, bytesIn)
    putBytes(s, BYTES_OUT)
    putUint(s, bodyBytesOut)
    putBytes(s, RETRIES)
    putUint(s, retries)
    if (error !== '') {
      putBytes(s, ERROR)
      putString(s, error)
    }
    if (cache !== '') {
      putBytes(s, CACHE)
      putString(s, cache)
    }
    if (fields.authUser !== '') {
      putBytes(s, USER)
      putString(s, fields.authUser)
    }
    putBytes(s, HTTP_VERSION)
    putString(s, httpVersion)
    putBytes(s, HOST)
    putString(s, capped(fields.host))
    putBytes(s, USER_AGENT)
    putString(s, capped(fields.userAgent))
    putBytes(s, REFERER)
    putString(s, capped(fields.referer))
    putBytes(s, END)
  }

  /** `%h - %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`; %b is `-` for no body bytes, as Apache writes it. */
  #putCombined(s: ByteSink, fields: RequestLogFields, method: string, path: string, client: string, status: number, bodyBytesOut: number, httpVersion: string): void {
    const { buf } = s
    putClfString(s, client, true)
    putBytes(s, USER_SEP)
    putClfString(s, fields.authUser, true, true)
    buf[s.pos++] = SPACE
    putBytes(s, this.#clock.at(Date.now()))
    putBytes(s, REQUEST_OPEN)
    putClfString(s, method)
    buf[s.pos++] = SPACE
    putClfString(s, path)
    putBytes(s, HTTP)
    putClfString(s, httpVersion)
    putBytes(s, REQUEST_CLOSE)
    putUint(s, status)
    buf[s.pos++] = SPACE
    if (bodyBytesOut > 0) putUint(s, bodyBytesOut)
    else buf[s.pos++] = DASH
    putBytes(s, REFERER_OPEN)
    putClfString(s, capped(fields.referer))
    putBytes(s, AGENT_OPEN)
    putClfString(s, capped(fields.userAgent))
    putBytes(s, LINE_END)
  }
}
