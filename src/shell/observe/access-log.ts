// The access log: one JSON line per request, in the same shape pino writes (level label,
// epoch-ms time, pid, fields, msg) and to the same destination. It does not go through a
// pino logger: measured with `npm run bench`, pino's generic serializer and a write per
// line cost ~20% of the throughput on small responses. The line is encoded straight into
// the log's byte buffer (core/json-bytes.ts): the constant parts are bytes made at config
// load (per process, per server), the rest a few strings and numbers; nothing is allocated.
import { maxStringBytes, putBytes, putMillis, putString, putUint, type ByteSink } from './json-bytes.js'
import type { LineWriter } from './line-writer.js'
import { logLines } from './log.js'

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
const HTTP_VERSION = bytes(',"http_version":')
const END = bytes(',"msg":"request"}\n')
/** Every constant part of a line plus the numbers (at most 16 digits each: time, status, sizes, retries; 20 for the duration). */
const FIXED_MAX = REQUEST_ID.length + METHOD.length + PATH.length + CLIENT.length + STATUS.length + DURATION.length + BYTES_IN.length +
  BYTES_OUT.length + RETRIES.length + ERROR.length + CACHE.length + HTTP_VERSION.length + END.length + 6 * 16 + 20

export class AccessLog {
  readonly #head: Buffer
  readonly #lines: LineWriter

  constructor(pid = process.pid, lines = logLines()) {
    this.#head = bytes(`{"level":"info","pid":${pid},"kind":"access","time":`)
    this.#lines = lines
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
  static readonly NO_ROUTE = Buffer.alloc(0)

  /**
   * `requestId` is sane (headers.ts) or a UUID, `method` an HTTP token.
   * `client`: the client address (runtime/client-address.ts).
   * `route`: the route's `,"route":..` part (ProxyRoute.accessRoute), empty when no route matched.
   * `cache`: the X-Cache result on a route with a cache (HIT, MISS, STALE, BYPASS), else ''.
   * `httpVersion`: Node's req.httpVersion ("1.1", "1.0", "2.0").
   */
  write(requestId: string, method: string, path: string, client: string, status: number, target: Buffer, route: Buffer, seconds: number, bytesIn: number, bodyBytesOut: number, retries: number, error: string, cache = '', httpVersion = '1.1'): void {
    const max = FIXED_MAX + this.#head.length + target.length + route.length + maxStringBytes(requestId) + maxStringBytes(method) +
      maxStringBytes(path) + maxStringBytes(client) + maxStringBytes(error) + maxStringBytes(cache) + maxStringBytes(httpVersion)
    const s: ByteSink = this.#lines.begin(max)
    putBytes(s, this.#head)
    putUint(s, Date.now())
    putBytes(s, REQUEST_ID)
    putString(s, requestId)
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
    putBytes(s, HTTP_VERSION)
    putString(s, httpVersion)
    putBytes(s, END)
    this.#lines.end()
  }
}
