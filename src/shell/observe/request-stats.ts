// Per (upstream, server) request counts and durations as plain numbers: what the request
// path records, read by the metrics layer only at scrape time. Measured with `npm run
// bench`: prom-client's labelled children re-hash their labels on every inc/observe, and
// that cost ~7% of the throughput on small responses; this costs a Map update and a
// short bucket scan.

/** The `method` label's values: a client can not mint new ones (PURGE counts as OTHER). */
export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const
const OTHER = METHOD_LABELS.length - 1

export function methodIndex(method: string): number {
  switch (method) {
    case 'GET': return 0
    case 'HEAD': return 1
    case 'POST': return 2
    case 'PUT': return 3
    case 'DELETE': return 4
    case 'PATCH': return 5
    case 'OPTIONS': return 6
    case 'CONNECT': return 7
    case 'TRACE': return 8
    default: return OTHER
  }
}

/** Histogram upper bounds in seconds: 1 ms (cache speed) to 30 s (the default response_headers timeout). */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

// A status code is three digits: key = method * 1000 + code.
const CODES = 1000

export class RequestStats {
  readonly upstream: string
  readonly server: string
  /** method * 1000 + code -> requests. */
  readonly counts = new Map<number, number>()
  /** Requests per bucket, not cumulative; index DURATION_BUCKETS.length is "above the last bound". */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1)
  sum = 0
  count = 0

  constructor(upstream: string, server: string) {
    this.upstream = upstream
    this.server = server
  }

  record(method: string, code: number, seconds: number): void {
    const key = methodIndex(method) * CODES + code
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    let i = 0
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++
    this.buckets[i]! += 1
    this.sum += seconds
    this.count++
  }

  /** [method label, code, requests] for every count so far. */
  *requests(): Generator<[string, number, number]> {
    for (const [key, n] of this.counts) yield [METHOD_LABELS[Math.floor(key / CODES)] as string, key % CODES, n]
  }
}
