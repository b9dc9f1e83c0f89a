// What the admin port's status page (shell/process/status-page.ts) computes in the browser
// from two scrapes of /metrics a second or so apart: per server, the request rate, the error
// rate (5xx answers) and p50/p99 latency from switchyard_request_duration_seconds buckets
// (histogram_quantile's linear interpolation within a bucket). Pure functions with no
// imports and no closures over module state: the page embeds their source text
// (Function.prototype.toString), so they run unchanged in Node's tests and in the browser.

/** One server's counters at one scrape: requests, 5xx answers, cumulative duration buckets. */
export interface ServerCounters {
  requests: number
  errors: number
  /** [upper bound in seconds (Infinity for +Inf), cumulative count], ascending. */
  buckets: [number, number][]
}

/** What the page shows per server; null where the window saw no request. */
export interface ServerRates {
  rps: number
  errorRatio: number | null
  p50: number | null
  p99: number | null
}

/**
 * The per-server counters of a /metrics exposition, keyed by "upstream server" (the two
 * labels, a space between). Only the two request series are read; anything else, and any
 * line that does not parse, is skipped. Bounded work: one pass over the lines.
 */
export function parseServerCounters(text: string): Record<string, ServerCounters> {
  const out: Record<string, ServerCounters> = {}
  const label = (labels: string, name: string): string | null => {
    const at = labels.indexOf(`${name}="`)
    if (at < 0 || (at > 0 && labels[at - 1] !== ',' && labels[at - 1] !== '{')) return null
    let value = ''
    for (let i = at + name.length + 2; i < labels.length; i++) {
      const c = labels[i] as string
      if (c === '\\') {
        const next = labels[i + 1]
        value += next === 'n' ? '\n' : (next ?? '')
        i++
      } else if (c === '"') return value
      else value += c
    }
    return null
  }
  for (const line of text.split('\n')) {
    const isCount = line.startsWith('switchyard_requests_total{')
    const isBucket = !isCount && line.startsWith('switchyard_request_duration_seconds_bucket{')
    if (!isCount && !isBucket) continue
    const close = line.lastIndexOf('}')
    if (close < 0) continue
    const labels = line.slice(line.indexOf('{'), close + 1)
    const value = Number(line.slice(close + 1).trim().split(' ')[0])
    const upstream = label(labels, 'upstream')
    const server = label(labels, 'server')
    if (upstream === null || server === null || server === '' || !Number.isFinite(value)) continue
    const c = (out[`${upstream} ${server}`] ??= { requests: 0, errors: 0, buckets: [] })
    if (isCount) {
      c.requests += value
      if ((label(labels, 'code') ?? '').startsWith('5')) c.errors += value
    } else {
      const le = label(labels, 'le')
      if (le === null) continue
      const bound = le === '+Inf' ? Infinity : Number(le)
      if (Number.isNaN(bound)) continue
      const have = c.buckets.find((b) => b[0] === bound)
      if (have === undefined) c.buckets.push([bound, value])
      else have[1] += value // the same bucket of another method/code series
    }
  }
  for (const c of Object.values(out)) c.buckets.sort((a, b) => a[0] - b[0])
  return out
}

/**
 * The q-quantile (0..1) of the requests counted between two scrapes, from the cumulative
 * buckets of each: linear within the bucket, as Prometheus's histogram_quantile; the highest
 * finite bound when it falls in +Inf; null with no request in the window.
 */
export function windowQuantile(before: [number, number][], after: [number, number][], q: number): number | null {
  const delta: [number, number][] = after.map(([le, n]) => {
    const old = before.find((b) => b[0] === le)
    return [le, Math.max(0, n - (old === undefined ? 0 : old[1]))]
  })
  const total = delta.length === 0 ? 0 : (delta[delta.length - 1] as [number, number])[1]
  if (total <= 0) return null
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const [le, n] of delta) {
    if (n >= rank) {
      if (le === Infinity) return lowerBound
      return n === lowerCount ? le : lowerBound + (le - lowerBound) * ((rank - lowerCount) / (n - lowerCount))
    }
    lowerBound = le
    lowerCount = n
  }
  return lowerBound
}

/** A server's rates over `seconds` between two scrapes; a counter that went back (a restart) counts from zero. */
export function serverRates(before: ServerCounters | undefined, after: ServerCounters, seconds: number): ServerRates {
  const from = before !== undefined && before.requests <= after.requests ? before : { requests: 0, errors: 0, buckets: [] }
  const requests = after.requests - from.requests
  const errors = Math.max(0, after.errors - from.errors)
  return {
    rps: seconds > 0 ? requests / seconds : 0,
    errorRatio: requests > 0 ? errors / requests : null,
    p50: windowQuantile(from.buckets, after.buckets, 0.5),
    p99: windowQuantile(from.buckets, after.buckets, 0.99),
  }
}
