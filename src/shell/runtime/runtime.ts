// A config compiled into what the request path reads: the router over Upstream objects
// (with their members, balancers and health), plus the active health checkers.
// Built once per config load, never per request. A reload builds a new Runtime from the
// previous one: servers that stay are the same Server objects (pool, in-flight count and
// health carry over); the others are retired: they drain, then their pools close.
// DNS discovery changes one upstream's servers the same way, in place (setDiscovered):
// survivors stay, joiners are added (and probed), leavers drain.
import type { Config, ServerConfig, StaticConfig } from '../../config/types.js'
import { buildRouter } from '../../core/routes.js'
import type { ServerStatus, StatusDoc } from '../../core/status.js'
import { stateIn, type AdminState } from '../../core/admin-state.js'
import { Upstream, type Server, type ServerReuse } from './upstreams.js'
import { HealthChecker, type ProbeListener } from './health-checker.js'
import { transportOf } from './server-transport.js'
import type { DiscoveredSets } from './discovery.js'
import { StaticSite } from './static-site.js'
import { CachedRoute } from './cached-route.js'
import { ProxyRoute } from './proxy-route.js'
import { effectiveBuffering } from '../../config/buffering.js'
import type { ForwardContext, Lifecycle, RouteTarget } from './context.js'
import { AccessLog } from '../observe/access-log.js'
import type { Logger } from '../observe/log.js'
import type { GaugeSource, Metrics } from '../observe/metrics.js'
import { Cache } from '../cache/cache.js'
import { PolicyRoute, type InnerTarget } from './policy-route.js'

interface ServerView { upstream: string; server: Server; weight: number }

export class Runtime implements GaugeSource {
  readonly config: Config
  readonly upstreams: ReadonlyMap<string, Upstream>
  /** Response caches by name; a reload keeps a cache (and what it holds) whose settings are unchanged. */
  readonly caches: ReadonlyMap<string, Cache>
  readonly forward: ForwardContext
  /** Routes with a policy chain (their rate limit stores close with the config). */
  readonly policyRoutes: readonly PolicyRoute[]
  readonly #log: Logger
  readonly #metrics: Metrics
  /** Active health checkers by upstream name. */
  #checkers = new Map<string, HealthChecker>()
  /** Servers of earlier configs still finishing their requests (with their last weight); shared along the reload chain. */
  readonly #draining: Map<Server, number>

  /** `discovered`: the servers DNS discovery has found for each upstream with dns:/srv: servers. */
  constructor(config: Config, log: Logger, lifecycle: Lifecycle, metrics: Metrics, previous: Runtime | null = null, discovered: DiscoveredSets = new Map()) {
    this.config = config
    this.#log = log
    this.#metrics = metrics
    this.#draining = previous === null ? new Map() : previous.#draining
    const reuse: ServerReuse = (upstream, id, key) => {
      const kept = previous?.upstreams.get(upstream)?.members.find((m) => m.server.id === id)?.server
      return kept !== undefined && kept.poolKey === key ? kept : undefined
    }
    const upstreams = new Map<string, Upstream>()
    for (const u of config.upstreams) {
      const before = previous?.upstreams.get(u.name)
      upstreams.set(u.name, new Upstream(u, log, metrics, reuse, before !== undefined, before?.queue ?? null, discovered.get(u.name) ?? []))
    }
    this.upstreams = upstreams
    const caches = new Map<string, Cache>()
    for (const c of config.caches) {
      const kept = previous?.caches.get(c.name)
      caches.set(c.name, kept !== undefined && kept.settingsKey === Cache.settingsKey(c) ? kept : new Cache(c, log, metrics))
    }
    this.caches = caches
    const policyRoutes: PolicyRoute[] = []
    const router = buildRouter<RouteTarget>(config.routes.map((r) => {
      const entry = this.#routeEntry(r, upstreams, caches, log, metrics)
      // A route with policies, or any route when there are top-level error pages: its chain first.
      if (r.policies === undefined && config.errorPages === null) return entry as { host: string | null; pathPrefix: string; target: RouteTarget }
      const route = new PolicyRoute(r, r.name, entry.target, config.errorPages, metrics, log)
      policyRoutes.push(route)
      return { host: r.host, pathPrefix: r.pathPrefix, target: route }
    }))
    this.policyRoutes = policyRoutes
    this.forward = {
      router,
      accessLog: config.log.accessLog && log.isLevelEnabled('info') ? new AccessLog(config.log.accessLogFormat) : null,
      unrouted: metrics.unrouted,
      requestMetrics: config.admin.requestMetrics,
      lifecycle,
      errorPages: config.errorPages,
    }
  }

  /** A route's target without its policies; null for a redirect route (neither upstream nor static). */
  #routeEntry(r: Config['routes'][number], upstreams: ReadonlyMap<string, Upstream>, caches: ReadonlyMap<string, Cache>, log: Logger, metrics: Metrics): { host: string | null; pathPrefix: string; target: InnerTarget | null } {
      if (r.upstream === null && r.static === undefined) return { host: r.host, pathPrefix: r.pathPrefix, target: null }
      // The loader checked that the upstream exists, or that the route is static (and has no cache).
      if (r.upstream === null) return { host: r.host, pathPrefix: r.pathPrefix, target: new StaticSite(r.static as StaticConfig, r.pathPrefix, log, metrics, r.name) }
      const upstream = upstreams.get(r.upstream) as Upstream
      const cache = r.cache === null ? undefined : caches.get(r.cache)
      const buffering = effectiveBuffering(upstream.config.buffering, r.buffering)
      if (cache === undefined) return { host: r.host, pathPrefix: r.pathPrefix, target: new ProxyRoute(r.name, upstream, buffering, r.timeouts) }
      const cached = new CachedRoute(new ProxyRoute(r.name, upstream, null, r.timeouts), cache, metrics)
      cached.buffering = buffering
      return { host: r.host, pathPrefix: r.pathPrefix, target: cached }
  }

  /** Starts probing every server of an upstream with `health_check` (the primary of workers uses a HealthWatch instead). */
  startHealthChecks(): void {
    for (const up of this.upstreams.values()) {
      if (up.config.healthCheck === null) continue
      const listener: ProbeListener = (target, ok, detail) => {
        const server = up.serverById(target.id)
        if (server === undefined) return // left with a DNS change while probed
        ;(ok ? server.metrics.probeSuccess : server.metrics.probeFailure).inc()
        server.noteProbe(ok, detail)
      }
      const checker = new HealthChecker(up.members.map((m) => m.server), up.config.healthCheck, listener, transportOf(up.config, up.config.healthCheck.timeoutMs))
      checker.start()
      this.#checkers.set(up.name, checker)
    }
  }

  /** The runtime API's table last applied (applyAdmin). */
  #admin: ReadonlyMap<string, AdminState> = new Map()

  /**
   * DNS discovery found a new set of servers for `upstream`: survivors stay as they are,
   * joiners take traffic (and are probed, with health_check), leavers drain.
   */
  setDiscovered(upstream: string, servers: readonly ServerConfig[]): void {
    const up = this.upstreams.get(upstream)
    if (up === undefined) return
    for (const { server, weight } of up.setServers(servers)) this.#drainServer(upstream, server, weight, this.config.shutdownTimeoutMs, 'server left the DNS answer: draining')
    this.#checkers.get(upstream)?.setTargets(up.members.map((m) => m.server))
    // The members are new: the runtime API's weights (and a joiner's mode) are set on them again.
    if (this.#admin.size > 0) this.applyAdmin(this.#admin)
  }

  /** A probe result from the primary's HealthWatch (a worker's own checks never run). */
  applyProbe(upstream: string, server: string, ok: boolean, detail: string): void {
    this.upstreams.get(upstream)?.members.find((m) => m.server.id === server)?.server.noteProbe(ok, detail)
  }

  /**
   * The runtime API's table (core/admin-state.ts), whole: every server of this config takes
   * its entry's mode and weight, or goes back to active at its configured weight when it has
   * none. Servers of earlier configs still draining are left as they are.
   */
  applyAdmin(table: ReadonlyMap<string, AdminState>): void {
    this.#admin = table
    for (const u of this.upstreams.values()) {
      for (const m of u.members) {
        const s = stateIn(table, u.name, m.server.id)
        m.server.setAdminMode(s.mode)
        m.setWeight(s.weight)
      }
    }
  }

  /** After a reload to `next`: stop probing, and drain the servers `next` did not keep. */
  retire(next: Runtime): void {
    void this.#stopHealthChecks()
    // A cache the next config does not keep: a Redis store closes its connections (entries
    // stay in Redis); a memory store is dropped with its entries.
    for (const c of this.caches.values()) if (next.caches.get(c.name) !== c) void c.close()
    for (const p of this.policyRoutes) void p.close()
    const kept = new Set([...next.#servers()].map((v) => v.server))
    for (const { upstream, server, weight } of this.#servers()) {
      if (kept.has(server)) continue
      // Replaced by a Server with new pool settings: the same backend, whose open tunnels stay.
      const stays = next.upstreams.get(upstream)?.members.some((m) => m.server.id === server.id) === true
      this.#drainServer(upstream, server, weight, stays ? null : next.config.shutdownTimeoutMs, 'server removed: draining')
    }
  }

  /** A server no longer a member: it finishes its requests (tunnels cut after `tunnelGraceMs`), then its pool closes. */
  #drainServer(upstream: string, server: Server, weight: number, tunnelGraceMs: number | null, why: string): void {
    this.#draining.set(server, weight)
    this.#log.info({ upstream, server: server.id, active_requests: server.inFlight, websockets: server.tunnels.size }, why)
    void server.drain(tunnelGraceMs).then(() => {
      this.#draining.delete(server)
      this.#metrics.releaseServer(upstream, server.id)
      this.#log.info({ upstream, server: server.id }, 'server drained: pool closed')
    })
  }

  async close(): Promise<void> {
    await this.#stopHealthChecks()
    await Promise.all([...this.#servers()].map((v) => v.server.close()))
    await Promise.all([...this.caches.values()].map((c) => c.close()))
    await Promise.all(this.policyRoutes.map((p) => p.close()))
  }

  *rateLimitGauges(): Generator<{ route: string; up: boolean }> {
    for (const p of this.policyRoutes) if (p.hasRateLimit) yield { route: p.label, up: p.storesUp() }
  }

  async #stopHealthChecks(): Promise<void> {
    const checkers = [...this.#checkers.values()]
    this.#checkers = new Map()
    await Promise.all(checkers.map((c) => c.stop()))
  }

  *#servers(): Generator<ServerView> {
    for (const u of this.upstreams.values()) for (const m of u.members) yield { upstream: u.name, server: m.server, weight: m.baseWeight }
  }

  /** Current servers, then draining ones. */
  *#allServers(): Generator<ServerView> {
    yield* this.#servers()
    for (const [s, weight] of this.#draining) yield { upstream: s.owner.name, server: s, weight }
  }

  *serverGauges(): Generator<{ upstream: string; server: string; up: boolean; inFlight: number }> {
    for (const { upstream, server } of this.#allServers()) {
      yield { upstream, server: server.id, up: server.state === 'healthy', inFlight: server.inFlight }
    }
  }

  /** Open tunnels by upstream, counted now from the process's set (exact whatever reloads happened since they opened), and queue lengths. */
  *upstreamGauges(): Generator<{ upstream: string; websockets: number; queued?: number }> {
    const counts = new Map<string, number>()
    for (const u of this.upstreams.keys()) counts.set(u, 0)
    for (const t of this.forward.lifecycle.websockets) counts.set(t.upstreamName, (counts.get(t.upstreamName) ?? 0) + 1)
    for (const [upstream, websockets] of counts) {
      const queue = this.upstreams.get(upstream)?.queue ?? null
      yield queue === null ? { upstream, websockets } : { upstream, websockets, queued: queue.length }
    }
  }

  *cacheGauges(): Generator<{ cache: string; bytes: number | null; entries: number | null; up: boolean }> {
    for (const c of this.caches.values()) yield c.gauges()
  }

  /** Admin purge: one URL (every method and variant) or everything (null), from every cache. */
  async purge(url: URL | null): Promise<number> {
    await Promise.all([...this.caches.values()].map((c) => c.purge(url)))
    return this.caches.size
  }

  /** The /status document (docs/operations.md#admin-port); draining servers of earlier configs are listed too. */
  status(): StatusDoc {
    const upstreams: StatusDoc['upstreams'] = {}
    for (const u of this.upstreams.values()) {
      upstreams[u.name] = {
        balance: u.config.balance,
        servers: u.members.map((m) => serverStatus(m.server, m.baseWeight, m.configWeight)),
      }
    }
    for (const [s, weight] of this.#draining) {
      const entry = (upstreams[s.owner.name] ??= { balance: s.owner.config.balance, servers: [] })
      entry.servers.push(serverStatus(s, weight, weight))
    }
    return { upstreams }
  }
}

function serverStatus(s: Server, weight: number, configWeight: number): ServerStatus {
  return {
    url: s.url, id: s.id, weight, config_weight: configWeight, state: s.state, admin_state: s.adminMode,
    drained: s.drained, active_requests: s.inFlight, websockets: s.tunnels.size,
  }
}
