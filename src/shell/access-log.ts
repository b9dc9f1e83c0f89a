// The access log: one JSON line per request, in the same shape pino writes (level label,
// epoch-ms time, pid, fields, msg) and to the same destination. It does not go through a
// pino logger: measured with `npm run bench`, pino's generic serializer and a write per
// line cost ~20% of the throughput on small responses; a line built from a prefix made
// at config load plus a few numbers, handed over in batches, costs a fraction of that.
import { writeLines } from './log.js'

// Characters that need JSON escaping in a request target (controls, quote, backslash, non-ASCII).
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/

const json = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)

export class AccessLog {
  readonly #head: string

  constructor(pid = process.pid) {
    this.#head = `{"level":"info","pid":${pid},"kind":"access","time":`
  }

  /**
   * The `"upstream":..,"server":..` part of a line, made once per server at config load.
   * Names come from the validated config: JSON-safe, but escaped anyway.
   */
  static target(upstream: string, server: string): string {
    return `"upstream":${JSON.stringify(upstream)},"server":${JSON.stringify(server)}`
  }

  /**
   * `requestId` is sane (headers.ts) or a UUID, `method` an HTTP token: both JSON-safe.
   * `cache`: the X-Cache result on a route with a cache (HIT, MISS, STALE, BYPASS), else ''.
   */
  write(requestId: string, method: string, path: string, status: number, target: string, seconds: number, bytesIn: number, bodyBytesOut: number, retries: number, error: string, cache = ''): void {
    writeLines(`${this.#head}${Date.now()},"request_id":"${requestId}","method":"${method}","path":${json(path)},"status":${status},${target},"duration_ms":${Math.round(seconds * 1e6) / 1000},"bytes_in":${bytesIn},"bytes_out":${bodyBytesOut},"retries":${retries}${error === '' ? '' : `,"error":${json(error)}`}${cache === '' ? '' : `,"cache":"${cache}"`},"msg":"request"}\n`)
  }
}
