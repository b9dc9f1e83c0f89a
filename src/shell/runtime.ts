// A config compiled into what the request path reads: the router over Upstream objects
// (with their pools, balancers and health), plus the active health checkers.
// Built once per config load; never per request.
import type { Config } from '../config/types.js'
import { buildRouter } from '../core/routes.js'
import { Upstream } from './upstreams.js'
import { HealthChecker } from './health-checker.js'
import { AccessLog } from './access-log.js'
import type { ForwardContext, Lifecycle } from './forward.js'
import type { Logger } from './log.js'
import type { GaugeSource, Metrics } from './metrics.js'

export class Runtime implements GaugeSource {
  readonly config: Config
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly forward: ForwardContext
  readonly #checkers: HealthChecker[] = []

  constructor(config: Config, log: Logger, lifecycle: Lifecycle, metrics: Metrics) {
    this.config = config
    const upstreams = new Map<string, Upstream>()
    for (const u of config.upstreams) upstreams.set(u.name, new Upstream(u, log, metrics))
    this.upstreams = upstreams
    const router = buildRouter(config.routes.map((r) => ({
      host: r.host,
      pathPrefix: r.pathPrefix,
      target: upstreams.get(r.upstream) as Upstream, // the loader checked that it exists
    })))
    this.forward = {
      router,
      accessLog: config.log.accessLog && log.isLevelEnabled('info') ? new AccessLog() : null,
      unrouted: metrics.unrouted,
      requestMetrics: config.admin.requestMetrics,
      lifecycle,
    }
    for (const up of upstreams.values()) {
      if (up.config.healthCheck === null) continue
      const byId = new Map(up.servers.map((s) => [s.id, s]))
      this.#checkers.push(new HealthChecker(up.servers, up.config.healthCheck, (target, ok, detail) => {
        up.noteProbe(byId.get(target.id)!, ok, detail)
      }))
    }
  }

  startHealthChecks(): void {
    for (const c of this.#checkers) c.start()
  }

  async close(): Promise<void> {
    await Promise.all(this.#checkers.map((c) => c.stop()))
    await Promise.all([...this.upstreams.values()].map((u) => u.close()))
  }

  *serverGauges(): Generator<{ upstream: string; server: string; up: boolean; activeRequests: number }> {
    for (const u of this.upstreams.values()) {
      for (const s of u.servers) yield { upstream: u.name, server: s.id, up: s.state === 'healthy', activeRequests: s.inFlight }
    }
  }

  *upstreamGauges(): Generator<{ upstream: string; websockets: number }> {
    for (const u of this.upstreams.values()) yield { upstream: u.name, websockets: u.websockets }
  }

  /** The /status document (CONTRACT section 4). */
  status(): unknown {
    const upstreams: Record<string, unknown> = {}
    for (const u of this.upstreams.values()) {
      upstreams[u.name] = {
        balance: u.config.balance,
        servers: u.servers.map((s) => ({ url: s.url, weight: s.weight, state: s.state, active_requests: s.inFlight })),
      }
    }
    return { upstreams }
  }
}
