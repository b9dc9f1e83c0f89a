// Prometheus metrics (CONTRACT section 4) on one prom-client Registry per process.
// Label values are bounded by the config: upstream and server names come from it, methods
// are folded to a fixed list (PURGE -> OTHER), codes are three digits. Children are bound
// once per server (ServerMetrics) so the request path does a Map lookup and an inc;
// gauges that mirror state are filled in collect(), at scrape time, not per request.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { metricMethod, type ErrorReason } from '../core/errors.js'

/** prom-client defaults that are gauges named `..._total`: `promtool check metrics` refuses them. */
const REFUSED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** 1 ms to 30 s: a proxy's answers range from cache-speed to the response_headers timeout. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const ERROR_REASONS: readonly ErrorReason[] = ['connect_refused', 'connect_timeout', 'response_timeout', 'reset', 'other']

/** What the gauges read at scrape time. */
export interface GaugeSource {
  serverGauges(): Iterable<{ upstream: string; server: string; up: boolean; activeRequests: number }>
  upstreamGauges(): Iterable<{ upstream: string; websockets: number }>
}

export class Metrics {
  readonly registry = new Registry()
  readonly requests: Counter<'upstream' | 'server' | 'method' | 'code'>
  readonly duration: Histogram<'upstream' | 'server'>
  readonly healthChecks: Counter<'upstream' | 'server' | 'result'>
  readonly upstreamErrors: Counter<'upstream' | 'server' | 'reason'>
  readonly retries: Counter<'upstream'>
  readonly configReloads: Counter<'result'>
  readonly lastReloadSuccess: Gauge
  /** Requests that matched no route (404) or were refused before routing (400): upstream="", server="". */
  readonly unrouted: RequestCounter
  #source: GaugeSource | null = null

  constructor() {
    const registers = [this.registry]
    const source = (): GaugeSource | null => this.#source
    this.requests = new Counter({ name: 'switchyard_requests_total', help: 'Requests answered, by upstream, server, method and status code.', labelNames: ['upstream', 'server', 'method', 'code'], registers })
    this.duration = new Histogram({ name: 'switchyard_request_duration_seconds', help: 'Time from the request head to the end of the response.', labelNames: ['upstream', 'server'], buckets: DURATION_BUCKETS, registers })
    new Gauge({
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
        for (const s of source()?.serverGauges() ?? []) this.set({ upstream: s.upstream, server: s.server }, s.activeRequests)
      },
    })
    this.healthChecks = new Counter({ name: 'switchyard_health_checks_total', help: 'Active health check probes, by result.', labelNames: ['upstream', 'server', 'result'], registers })
    this.upstreamErrors = new Counter({ name: 'switchyard_upstream_errors_total', help: 'Failed attempts to a server, by reason.', labelNames: ['upstream', 'server', 'reason'], registers })
    this.retries = new Counter({ name: 'switchyard_retries_total', help: 'Extra attempts made after a failed one.', labelNames: ['upstream'], registers })
    this.configReloads = new Counter({ name: 'switchyard_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers })
    this.lastReloadSuccess = new Gauge({ name: 'switchyard_config_last_reload_success_timestamp_seconds', help: 'When the running config was loaded (Unix time).', registers })
    new Gauge({
      name: 'switchyard_websocket_connections', help: 'Open proxied WebSocket connections.', labelNames: ['upstream'], registers,
      collect() {
        this.reset()
        for (const u of source()?.upstreamGauges() ?? []) this.set({ upstream: u.upstream }, u.websockets)
      },
    })
    // Zero-valued series exist from the start, so rate() sees the first increment.
    this.configReloads.inc({ result: 'success' }, 0)
    this.configReloads.inc({ result: 'failure' }, 0)
    this.unrouted = new RequestCounter(this, '', '')
    collectDefaultMetrics({ register: this.registry })
    for (const name of REFUSED_DEFAULTS) this.registry.removeSingleMetric(name)
  }

  /** Where the state gauges read from: the running config's upstreams. */
  setSource(source: GaugeSource): void {
    this.#source = source
  }

  forServer(upstream: string, server: string): ServerMetrics {
    return new ServerMetrics(this, upstream, server)
  }

  forUpstream(upstream: string): UpstreamMetrics {
    return new UpstreamMetrics(this, upstream)
  }

}

type CounterChild = ReturnType<Counter<string>['labels']>
type HistogramChild = ReturnType<Histogram<string>['labels']>

/** requests_total and request_duration_seconds for one (upstream, server) pair. */
export class RequestCounter {
  readonly #metrics: Metrics
  readonly #upstream: string
  readonly #server: string
  // Children by method and code, made on first use: codes are not known in advance.
  readonly #children = new Map<string, CounterChild>()
  readonly #duration: HistogramChild

  constructor(metrics: Metrics, upstream: string, server: string) {
    this.#metrics = metrics
    this.#upstream = upstream
    this.#server = server
    this.#duration = metrics.duration.labels(upstream, server)
  }

  request(method: string, code: number, seconds: number): void {
    const m = metricMethod(method)
    const key = `${m} ${code}`
    let child = this.#children.get(key)
    if (child === undefined) {
      child = this.#metrics.requests.labels(this.#upstream, this.#server, m, String(code))
      this.#children.set(key, child)
    }
    child.inc()
    this.#duration.observe(seconds)
  }
}

/** Children bound to one (upstream, server): what the request path and the prober touch. */
export class ServerMetrics extends RequestCounter {
  readonly #errors: Record<ErrorReason, CounterChild>
  readonly probeSuccess: CounterChild
  readonly probeFailure: CounterChild

  constructor(metrics: Metrics, upstream: string, server: string) {
    super(metrics, upstream, server)
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

/** Children bound to one upstream: retries, and requests answered without a server (server=""). */
export class UpstreamMetrics extends RequestCounter {
  readonly retries: CounterChild

  constructor(metrics: Metrics, upstream: string) {
    super(metrics, upstream, '')
    this.retries = metrics.retries.labels(upstream)
    this.retries.inc(0)
  }
}
