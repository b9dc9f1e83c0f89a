// Prometheus metrics (docs/operations.md#admin-port) on one prom-client Registry per process.
// Label values are bounded by the config: upstream and server names come from it, methods
// are folded to a fixed list (PURGE -> OTHER), codes are three digits.
// - requests_total and request_duration_seconds are recorded as plain numbers per
//   (upstream, server) (core/request-stats.ts) and handed to prom-client at scrape time
//   by two collectors registered on the Registry (its extension point: any object with
//   get() returning name/help/type/values, which the cluster aggregator also reads).
// - Rare events (errors, retries, probes) use prom-client counters with children bound
//   once per server.
// - Gauges that mirror state are filled in collect(), at scrape time, not per request.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import type { ErrorReason } from '../../core/errors.js'
import { RETRY_ON, type RetryOn } from '../../core/retry-on.js'
import { DURATION_BUCKETS, RequestStats } from './request-stats.js'

/** prom-client defaults that are gauges named `..._total`: `promtool check metrics` refuses them. */
const REFUSED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** The `result` label of switchyard_cache_requests_total, in the order of Metrics.cacheResults(). */
export const CACHE_RESULTS = ['hit', 'miss', 'stale', 'bypass'] as const

const ERROR_REASONS: readonly ErrorReason[] = ['connect_refused', 'connect_timeout', 'response_timeout', 'reset', 'tls', 'other']

/** What the gauges read at scrape time. */
export interface GaugeSource {
  serverGauges(): Iterable<{ upstream: string; server: string; up: boolean; inFlight: number }>
  upstreamGauges(): Iterable<{ upstream: string; websockets: number; queued?: number }>
  /** Response caches: bytes and entries (memory stores only), whether the store answers. */
  cacheGauges?(): Iterable<{ cache: string; bytes: number | null; entries: number | null; up: boolean }>
  /** Routes with a rate limit: whether its store answers (a memory store always does). */
  rateLimitGauges?(): Iterable<{ route: string; up: boolean }>
}

interface CollectedValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/** A metric whose values are computed at scrape time from the request stats. */
function statsCollector(name: string, help: string, type: 'counter' | 'histogram', values: () => CollectedValue[]): Metric {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) } as unknown as Metric
}

export class Metrics {
  readonly registry = new Registry()
  /** Request stats by "upstream\0server"; kept across reloads, so a server that stays keeps its counts. */
  readonly #stats = new Map<string, RequestStats>()
  /** Live Server objects per "upstream\0server" (a removed server may still drain when it is added back). */
  readonly #users = new Map<string, number>()
  readonly healthChecks: Counter<'upstream' | 'server' | 'result'>
  readonly upstreamErrors: Counter<'upstream' | 'server' | 'reason'>
  readonly retries: Counter<'upstream' | 'reason'>
  readonly retryBudgetExhausted: Counter<'upstream'>
  readonly queueTimeouts: Counter<'upstream'>
  readonly configReloads: Counter<'result'>
  /** Lookups of dns: and srv: servers (docs/discovery.md), made where the config is loaded: the single process or the primary. */
  readonly dnsLookups: Counter<'upstream' | 'result'>
  readonly lastReloadSuccess: Gauge
  /** Cache results per upstream as plain numbers (hit, miss, stale, bypass), read at scrape time: a hit hashes no labels. */
  readonly #cacheResults = new Map<string, Float64Array>()
  readonly cacheRedisErrors: Counter<'cache'>
  readonly tlsHandshakes: Counter<'listener' | 'protocol' | 'result'>
  /** TLS certificates of the running config (docs/tls.md): the expiry gauge reads them at scrape time. */
  #certificates: readonly { listener: string; name: string; notAfterMs: number }[] = []
  /** ACME certificates in use, by listener (process/acme.ts): the expiry gauge shows them too. */
  readonly #acmeCertificates = new Map<string, { listener: string; name: string; notAfterMs: number }>()
  /** ACME orders of the ACME manager (single process or primary), by listener and result. */
  readonly acmeOrders: Counter<'listener' | 'result'>
  /** Requests a route's policies answered instead of its target (docs/policies.md). */
  readonly policyDenials: Counter<'route' | 'policy'>
  /** Failed checks of a Redis rate limit store (the request passed: fail open). */
  readonly rateLimitStoreErrors: Counter<'route'>
  /** Compressed responses' bytes by route and direction (in: as the server sent them, out: compressed). */
  readonly compressionBytes: Counter<'route' | 'direction'>
  /** Compressed responses by route and encoding (zstd, br, gzip). */
  readonly compressedResponses: Counter<'route' | 'encoding'>
  /** Requests that matched no route (404) or were refused before routing (400): upstream="", server="". */
  readonly unrouted: RequestStats
  #source: GaugeSource | null = null

  /**
   * `single`: one process, every metric. With workers, the primary's /metrics is its own
   * registry (`primary`: reloads and health checks, which happen there) followed by
   * prom-client's cluster aggregation of the workers' registries (`worker`: the rest).
   */
  constructor(role: 'single' | 'worker' | 'primary' = 'single') {
    const mine = [this.registry]
    // Metrics another role exposes still exist here (the code records into them), unregistered.
    const traffic = role === 'primary' ? [] : mine
    const control = role === 'worker' ? [] : mine
    const registers = traffic
    const source = (): GaugeSource | null => this.#source
    if (role !== 'primary') {
      this.registry.registerMetric(statsCollector('switchyard_requests_total', 'Requests answered, by upstream, server, method and status code.', 'counter', () => this.#requestValues()))
      this.registry.registerMetric(statsCollector('switchyard_request_duration_seconds', 'Time from the request head to the end of the response.', 'histogram', () => this.#durationValues()))
    }
    new Gauge({
      // Across workers the lowest value wins: a server some worker has ejected is not fully up.
      aggregator: 'min',
      name: 'switchyard_server_up', help: '1 when the server takes traffic (state healthy), else 0.', labelNames: ['upstream', 'server'], registers,
      collect() {
        this.reset()
        for (const s of source()?.serverGauges() ?? []) this.set({ upstream: s.upstream, server: s.server }, s.up ? 1 : 0)
      },
    })
    new Gauge({
      name: 'switchyard_server_active_requests', help: 'Requests in flight to the server.', labelNames: ['upstream', 'server'], registers,
      collect() {
        this.reset()
        for (const s of source()?.serverGauges() ?? []) this.set({ upstream: s.upstream, server: s.server }, s.inFlight)
      },
    })
    this.healthChecks = new Counter({ name: 'switchyard_health_checks_total', help: 'Active health check probes, by result.', labelNames: ['upstream', 'server', 'result'], registers: control })
    this.upstreamErrors = new Counter({ name: 'switchyard_upstream_errors_total', help: 'Failed attempts to a server, by reason.', labelNames: ['upstream', 'server', 'reason'], registers })
    this.retries = new Counter({ name: 'switchyard_retries_total', help: 'Extra attempts made after a failed one, by the retry_on condition met.', labelNames: ['upstream', 'reason'], registers })
    this.retryBudgetExhausted = new Counter({ name: 'switchyard_retry_budget_exhausted_total', help: 'Retries not made because the upstream\'s retry_budget was spent.', labelNames: ['upstream'], registers })
    this.queueTimeouts = new Counter({ name: 'switchyard_queue_timeouts_total', help: 'Requests answered 503 after waiting queue.timeout for a server slot.', labelNames: ['upstream'], registers })
    new Gauge({
      name: 'switchyard_queue_length', help: 'Requests waiting in the upstream\'s queue for a server under its max_requests.', labelNames: ['upstream'], registers,
      collect() {
        this.reset()
        for (const u of source()?.upstreamGauges() ?? []) if (u.queued !== undefined) this.set({ upstream: u.upstream }, u.queued)
      },
    })
    this.configReloads = new Counter({ name: 'switchyard_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers: control })
    this.dnsLookups = new Counter({ name: 'switchyard_dns_lookups_total', help: 'DNS lookups of dns: and srv: servers, by result (ok, failed, empty); a failed or empty one keeps the last good set.', labelNames: ['upstream', 'result'], registers: control })
    this.lastReloadSuccess = new Gauge({ name: 'switchyard_config_last_reload_success_timestamp_seconds', help: 'When the running config was loaded (Unix time).', registers: control })
    new Gauge({
      name: 'switchyard_websocket_connections', help: 'Open proxied WebSocket connections.', labelNames: ['upstream'], registers,
      collect() {
        this.reset()
        for (const u of source()?.upstreamGauges() ?? []) this.set({ upstream: u.upstream }, u.websockets)
      },
    })
    const cacheResults = this.#cacheResults
    new Counter({
      name: 'switchyard_cache_requests_total', help: 'Requests of routes with a cache, by X-Cache result (hit, miss, stale, bypass).', labelNames: ['upstream', 'result'], registers,
      collect() {
        this.reset()
        for (const [upstream, counts] of cacheResults) CACHE_RESULTS.forEach((result, i) => this.inc({ upstream, result }, counts[i]))
      },
    })
    this.cacheRedisErrors = new Counter({ name: 'switchyard_cache_redis_errors_total', help: 'Failed Redis commands of a cache with store: redis.', labelNames: ['cache'], registers })
    new Gauge({
      name: 'switchyard_cache_size_bytes', help: 'Bytes held by a memory cache store (per process; summed over workers).', labelNames: ['cache'], registers,
      collect() {
        this.reset()
        for (const c of source()?.cacheGauges?.() ?? []) if (c.bytes !== null) this.set({ cache: c.cache }, c.bytes)
      },
    })
    new Gauge({
      name: 'switchyard_cache_entries', help: 'Responses held by a memory cache store (per process; summed over workers).', labelNames: ['cache'], registers,
      collect() {
        this.reset()
        for (const c of source()?.cacheGauges?.() ?? []) if (c.entries !== null) this.set({ cache: c.cache }, c.entries)
      },
    })
    new Gauge({
      aggregator: 'min',
      name: 'switchyard_cache_store_up', help: '1 while the cache store answers, 0 while it is bypassed (Redis down).', labelNames: ['cache'], registers,
      collect() {
        this.reset()
        for (const c of source()?.cacheGauges?.() ?? []) this.set({ cache: c.cache }, c.up ? 1 : 0)
      },
    })
    this.tlsHandshakes = new Counter({ name: 'switchyard_tls_handshakes_total', help: 'TLS handshakes on HTTPS listeners, by TLS version and result (success, failure).', labelNames: ['listener', 'protocol', 'result'], registers })
    const certificates = (): readonly { listener: string; name: string; notAfterMs: number }[] => [...this.#certificates, ...this.#acmeCertificates.values()]
    new Gauge({
      // The process that loads the config sets it (single, or the primary): one value, not a sum over workers.
      name: 'switchyard_tls_certificate_expiry_timestamp_seconds', help: 'When a certificate of a TLS listener expires (Unix time), by listener and certificate name.', labelNames: ['listener', 'name'], registers: control,
      collect() {
        this.reset()
        for (const c of certificates()) this.set({ listener: c.listener, name: c.name }, Math.floor(c.notAfterMs / 1000))
      },
    })
    this.acmeOrders = new Counter({ name: 'switchyard_acme_orders_total', help: 'ACME certificate orders, by listener and result (success, failure).', labelNames: ['listener', 'result'], registers: control })
    this.policyDenials = new Counter({ name: 'switchyard_policy_denials_total', help: 'Requests refused by a route policy, by route and policy (rate_limit, access, auth, maintenance).', labelNames: ['route', 'policy'], registers })
    this.rateLimitStoreErrors = new Counter({ name: 'switchyard_rate_limit_store_errors_total', help: 'Failed Redis rate limit checks; each let its request pass (fail open).', labelNames: ['route'], registers })
    this.compressionBytes = new Counter({ name: 'switchyard_compression_bytes_total', help: 'Body bytes of compressed responses, by route and direction: in (as the server sent them), out (compressed, to the client); out / in is the ratio.', labelNames: ['route', 'direction'], registers })
    this.compressedResponses = new Counter({ name: 'switchyard_compressed_responses_total', help: 'Responses compressed on the way out, by route and encoding (zstd, br, gzip).', labelNames: ['route', 'encoding'], registers })
    new Gauge({
      aggregator: 'min',
      name: 'switchyard_rate_limit_store_up', help: '1 while a route\'s rate limit store answers, 0 while Redis is down and requests pass unlimited.', labelNames: ['route'], registers,
      collect() {
        this.reset()
        for (const r of source()?.rateLimitGauges?.() ?? []) this.set({ route: r.route }, r.up ? 1 : 0)
      },
    })
    // Zero-valued series exist from the start, so rate() sees the first increment.
    this.configReloads.inc({ result: 'success' }, 0)
    this.configReloads.inc({ result: 'failure' }, 0)
    this.unrouted = this.stats('', '')
    if (role !== 'primary') {
      collectDefaultMetrics({ register: this.registry })
      for (const name of REFUSED_DEFAULTS) this.registry.removeSingleMetric(name)
    }
  }

  /** A handshake on TLS listener `listener`: `protocol` is the TLS version agreed ('' when none was). */
  tlsHandshake(listener: string, protocol: string, ok: boolean): void {
    this.tlsHandshakes.inc({ listener, protocol, result: ok ? 'success' : 'failure' })
  }

  /** The certificates the expiry gauge shows: those of the running config. */
  setCertificates(list: readonly { listener: string; name: string; notAfterMs: number }[]): void {
    this.#certificates = list
  }

  /** The ACME certificate a listener serves now (its first DNS name and notAfter). */
  setAcmeCertificate(listener: string, name: string, notAfterMs: number): void {
    this.#acmeCertificates.set(listener, { listener, name, notAfterMs })
  }

  /** Where the state gauges read from: the running config's upstreams. */
  setSource(source: GaugeSource): void {
    this.#source = source
  }

  /** The request stats of an (upstream, server) pair; server "" = answered without a server. */
  stats(upstream: string, server: string): RequestStats {
    const key = `${upstream}\0${server}`
    let s = this.#stats.get(key)
    if (s === undefined) {
      s = new RequestStats(upstream, server)
      this.#stats.set(key, s)
    }
    return s
  }

  #requestValues(): CollectedValue[] {
    const out: CollectedValue[] = []
    for (const s of this.#stats.values()) {
      for (const [method, code, n] of s.requests()) out.push({ labels: { upstream: s.upstream, server: s.server, method, code: String(code) }, value: n })
    }
    return out
  }

  #durationValues(): CollectedValue[] {
    const out: CollectedValue[] = []
    const name = 'switchyard_request_duration_seconds'
    for (const s of this.#stats.values()) {
      if (s.count === 0) continue
      const labels = { upstream: s.upstream, server: s.server }
      let cumulative = 0
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!
        out.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` })
      })
      out.push({ labels: { ...labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` })
      out.push({ labels, value: s.sum, metricName: `${name}_sum` })
      out.push({ labels, value: s.count, metricName: `${name}_count` })
    }
    return out
  }

  forServer(upstream: string, server: string): ServerMetrics {
    const key = `${upstream}\0${server}`
    this.#users.set(key, (this.#users.get(key) ?? 0) + 1)
    return new ServerMetrics(this, upstream, server)
  }

  /** A server is gone (drained after a reload): once no Server uses its series, they go too. */
  releaseServer(upstream: string, server: string): void {
    const key = `${upstream}\0${server}`
    const users = (this.#users.get(key) ?? 1) - 1
    if (users > 0) {
      this.#users.set(key, users)
      return
    }
    this.#users.delete(key)
    this.#stats.delete(key)
    for (const reason of ERROR_REASONS) this.upstreamErrors.remove(upstream, server, reason)
    this.healthChecks.remove(upstream, server, 'success')
    this.healthChecks.remove(upstream, server, 'failure')
  }

  /** The cache result counts of an upstream's cached routes, in CACHE_RESULTS order; kept across reloads. */
  cacheResults(upstream: string): Float64Array {
    let counts = this.#cacheResults.get(upstream)
    if (counts === undefined) this.#cacheResults.set(upstream, (counts = new Float64Array(CACHE_RESULTS.length)))
    return counts
  }

  forUpstream(upstream: string): UpstreamMetrics {
    return new UpstreamMetrics(this, upstream)
  }

}

type CounterChild = ReturnType<Counter<string>['labels']>

/** What one (upstream, server) pair records: request stats on the request path, children for rare events. */
export class ServerMetrics {
  readonly requests: RequestStats
  readonly #errors: Record<ErrorReason, CounterChild>
  readonly probeSuccess: CounterChild
  readonly probeFailure: CounterChild

  constructor(metrics: Metrics, upstream: string, server: string) {
    this.requests = metrics.stats(upstream, server)
    this.#errors = Object.fromEntries(ERROR_REASONS.map((r) => {
      const child = metrics.upstreamErrors.labels(upstream, server, r)
      child.inc(0)
      return [r, child]
    })) as Record<ErrorReason, CounterChild>
    this.probeSuccess = metrics.healthChecks.labels(upstream, server, 'success')
    this.probeFailure = metrics.healthChecks.labels(upstream, server, 'failure')
  }

  error(reason: ErrorReason): void {
    this.#errors[reason].inc()
  }
}

/** What one upstream records: retries (by retry_on condition), and requests answered without a server (server=""). */
export class UpstreamMetrics {
  readonly requests: RequestStats
  readonly retries: Record<RetryOn, CounterChild>
  readonly retryBudgetExhausted: CounterChild
  readonly #metrics: Metrics
  readonly #upstream: string

  constructor(metrics: Metrics, upstream: string) {
    this.#metrics = metrics
    this.#upstream = upstream
    this.requests = metrics.stats(upstream, '')
    this.retries = Object.fromEntries(RETRY_ON.map((reason) => {
      const child = metrics.retries.labels(upstream, reason)
      child.inc(0)
      return [reason, child]
    })) as Record<RetryOn, CounterChild>
    this.retryBudgetExhausted = metrics.retryBudgetExhausted.labels(upstream)
    this.retryBudgetExhausted.inc(0)
  }

  /** switchyard_queue_timeouts_total of this upstream (made only for an upstream with a queue). */
  queueTimeouts(): CounterChild {
    const child = this.#metrics.queueTimeouts.labels(this.#upstream)
    child.inc(0)
    return child
  }
}
