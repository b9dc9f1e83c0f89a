// Runtime objects built per config load.
// - Server: one backend with its undici Pool, health, in-flight count, bound metrics and
//   logger. Long-lived: a reload that keeps the server (same upstream, url and pool
//   settings) keeps the same Server object, so pools, counts and health carry over.
// - Member: a Server's place in one config's upstream (its index for the balancer and its
//   weight), so a reload can change weights and order without touching the Server.
// - Upstream: a named group of members with its balancer and the list of members that take
//   traffic now, rebuilt only when a server's health says so, never per request.
// - Slow start (slow-start.ts in the core): a server that joins a running upstream (added
//   by a reload, or taking traffic again after being unhealthy or ejected) ramps its
//   members' weight on a timer tick, which runs only while a ramp is on.
// - Caps and the queue (issue #16): a member is `full` at its server's max_requests, and
//   every balancer skips it; an upstream with a cap may have a RequestQueue, kept across
//   reloads. Without caps `capped` is false and `queue` null: nothing more is read.
// - Retries: the retry_on mask and the retry budget, built once here.
// - The runtime API (core/admin-state.ts): a Server's `adminMode` (drain, disable) joins its
//   health in `takesTraffic`, read only when `available` is rebuilt; a Member's weight
//   override replaces its configured weight. Runtime.applyAdmin sets both from the table.
// - DNS discovery (docs/discovery.md): an upstream's servers are its `url:` servers plus the
//   ones its dns:/srv: entries found. A new set (setServers) rebuilds the members, the
//   balancer and the affinity in place, as a reload would: servers that stay are the same
//   Server objects, joiners ramp (slow_start), and the leavers are handed back to be drained.
import { Pool } from 'undici'
import type { ServerConfig, UpstreamConfig } from '../../config/types.js'
import { MAX_TIMER_MS } from '../../config/duration.js'
import { createBalancer, type Balancer, type Pickable } from '../../core/balancers.js'
import { rampTickMs, rampWeight, SLOW_START_SCALE } from '../../core/slow-start.js'
import type { ErrorReason } from '../../core/errors.js'
import {
  initialHealth, activeResult, passiveFailure, passiveSuccess, ejectionOver, trialStarted, trialAbandoned, setDraining,
  stateOf, takesTraffic, type Health, type ServerState, type Step,
} from '../../core/health.js'
import { admits, isDrained, shownState, type AdminMode } from '../../core/admin-state.js'
import type { Logger } from '../observe/log.js'
import type { Metrics, ServerMetrics, UpstreamMetrics } from '../observe/metrics.js'
import { AccessLog } from '../observe/access-log.js'
import { RetryBudget } from '../../core/retry-budget.js'
import { retryOnMask, RETRY_ON } from '../../core/retry-on.js'
import { RequestQueue } from './request-queue.js'
import { Affinity } from './affinity.js'
import { transportKey, transportOf } from './server-transport.js'

/** How passive failures read in the state-change log line ("connect refused x3"). */
const REASON_TEXT: Record<ErrorReason, string> = {
  connect_refused: 'connect refused',
  connect_timeout: 'connect timeout',
  response_timeout: 'response timeout',
  reset: 'connection reset',
  tls: 'TLS handshake failed',
  other: 'bad response',
}

/** An upgraded connection (WebSocket) piped to a server. */
export interface OpenTunnel {
  readonly upstreamName: string
  destroy(): void
}

/** A Unix-socket server's Pool origin (undici wants one; the Host header sent is the client's). */
const UNIX_ORIGIN = 'http://localhost'

/** The settings a Pool is built from: a server is kept across a reload only when they are unchanged. */
export function poolKey(u: UpstreamConfig): string {
  return `${u.maxConnectionsPerServer}/${u.timeouts.connectMs}/${u.timeouts.responseHeadersMs}/${u.timeouts.idleMs}/${transportKey(u)}`
}

export class Server {
  readonly id: string // host:port (or unix:/path), the `server` label everywhere
  readonly url: string
  /** A `unix:` server's socket path; null for TCP. */
  readonly socketPath: string | null
  readonly poolKey: string
  readonly pool: Pool
  /** https://: the TLS name verified and sent as SNI, pinned on every dispatch; null for http://. */
  readonly serverName: string | null
  readonly log: Logger
  readonly metrics: ServerMetrics
  /** This server's part of an access log line, made once. */
  readonly accessTarget: Buffer
  inFlight = 0
  health: Health = initialHealth
  /** The upstream of the running config that holds this server (changes on reload). */
  owner!: Upstream
  /** performance.now() when its slow start ramp began; -1 when not ramping. */
  rampFrom = -1
  /** Open tunnels (WebSocket) to this server; a reload that removes the server cuts them after shutdown_timeout. */
  readonly tunnels = new Set<OpenTunnel>()
  #ejectionTimer: NodeJS.Timeout | null = null
  /** The runtime API's mode (drain, disable); 'active' unless an operator took it out. */
  adminMode: AdminMode = 'active'
  /** Resolves drain()'s wait for the tunnels once the last one is closed. */
  #tunnelsClosed: (() => void) | null = null

  constructor(config: ServerConfig, upstream: UpstreamConfig, log: Logger, metrics: Metrics) {
    this.id = config.id
    this.url = config.url
    this.socketPath = config.socketPath ?? null
    this.poolKey = poolKey(upstream)
    this.log = log.child({ server: config.id })
    this.metrics = metrics.forServer(upstream.name, config.id)
    this.accessTarget = AccessLog.target(upstream.name, config.id)
    const transport = transportOf(upstream, upstream.timeouts.connectMs)
    this.serverName = transport.serverName(config.url)
    // A Unix socket: undici connects to the path; the origin only names the request's authority.
    this.pool = new Pool(this.socketPath === null ? config.url : UNIX_ORIGIN, {
      ...transport.options, // TLS and HTTP/2 (server-transport.ts)
      ...(this.socketPath === null ? {} : { socketPath: this.socketPath }),
      connections: upstream.maxConnectionsPerServer,
      pipelining: 1, // a pipelined request dies with the one before it: never safe to retry
      headersTimeout: upstream.timeouts.responseHeadersMs,
      bodyTimeout: upstream.timeouts.idleMs,
    })
  }

  /** What /status shows: `draining` while an operator keeps it out, else its health's state. */
  get state(): ServerState {
    return shownState(this.adminMode, stateOf(this.health))
  }

  /** May a new request go to it: its health allows it and no operator took it out. */
  get takesTraffic(): boolean {
    return admits(this.adminMode, takesTraffic(this.health))
  }

  /** Taken out (runtime API, or removed by a reload) and nothing in flight or open here. */
  get drained(): boolean {
    return isDrained(this.adminMode !== 'active' || this.health.draining, this.inFlight, this.tunnels.size)
  }

  /**
   * The runtime API's drain / disable / enable. No new request goes to a server out of
   * service; `disabled` also closes its open tunnels (WebSockets) at once. In-flight
   * requests finish either way.
   */
  setAdminMode(mode: AdminMode): void {
    if (mode === this.adminMode) return
    const before = this.takesTraffic
    this.adminMode = mode
    if (mode === 'disabled' && this.tunnels.size > 0) {
      this.log.info({ websockets: this.tunnels.size }, 'server disabled: closing its open tunnels')
      for (const t of [...this.tunnels]) t.destroy()
    }
    this.#trafficChanged(before)
  }

  /** An active health check result (from this process's checker or from the primary's). */
  noteProbe(ok: boolean, detail: string): void {
    const cfg = this.owner.config.healthCheck
    if (cfg !== null) this.#apply(activeResult(this.health, ok, detail, cfg))
  }

  /** A response head arrived. Runs per request: a no-op unless it ends a failure run or a trial. */
  noteSuccess(): void {
    const p = this.health.passive
    if (p.failures !== 0 || p.trialOpen) this.#apply(passiveSuccess(this.health))
  }

  /** A connect error, reset or timeout. */
  noteFailure(reason: ErrorReason): void {
    this.#apply(passiveFailure(this.health, REASON_TEXT[reason], Date.now(), this.owner.config.passiveHealth))
  }

  /** Picked by the balancer; if its ejection is over, this request is the trial. Returns whether it is. */
  notePicked(): boolean {
    if (!this.health.passive.trialOpen) return false
    this.#set(trialStarted(this.health))
    return true
  }

  /** The trial request ended without a verdict (client gone, bad response): let another request be the trial. */
  noteAbandoned(): void {
    if (this.health.passive.trialInFlight) this.#set(trialAbandoned(this.health))
  }

  /**
   * Removed by a reload: no new requests; the pool closes once the ones it has are done.
   * `tunnelGraceMs`: its open tunnels are cut after this (shutdown_timeout), and the drain
   * ends when they are closed; null when the server stays in the config under a new Server
   * object (its pool settings changed): its tunnels are left open.
   */
  async drain(tunnelGraceMs: number | null): Promise<void> {
    this.#apply(setDraining(this.health, true))
    if (this.#ejectionTimer !== null) clearTimeout(this.#ejectionTimer)
    await Promise.all([this.pool.close(), tunnelGraceMs === null ? undefined : this.#closeTunnels(tunnelGraceMs)])
  }

  /** A tunnel to this server closed. */
  tunnelClosed(tunnel: OpenTunnel): void {
    this.tunnels.delete(tunnel)
    if (this.tunnels.size === 0) this.#tunnelsClosed?.()
  }

  #closeTunnels(graceMs: number): Promise<void> | undefined {
    if (this.tunnels.size === 0) return undefined
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ websockets: this.tunnels.size }, 'removed server: shutdown_timeout reached, closing its open tunnels')
        for (const t of this.tunnels) t.destroy()
      }, graceMs)
      timer.unref()
      this.#tunnelsClosed = () => {
        clearTimeout(timer)
        this.#tunnelsClosed = null
        resolve()
      }
    })
  }

  /** Shutdown: stop timers and close the pool (in-flight requests were drained by the listeners). */
  async close(): Promise<void> {
    if (this.#ejectionTimer !== null) clearTimeout(this.#ejectionTimer)
    await this.pool.close()
  }

  #apply(step: Step): void {
    const from = this.state
    this.#set(step.health)
    if (step.changed) this.log.warn({ from, to: this.state, reason: step.reason }, 'server state changed')
    else if (step.reason !== '') this.log.info({ state: from, reason: step.reason }, 'server health') // re-ejected, trial open
    const p = this.health.passive
    if (p.ejectedUntil !== 0 && !p.trialOpen && this.#ejectionTimer === null && !this.health.draining) {
      this.#ejectionTimer = setTimeout(() => {
        this.#ejectionTimer = null
        this.#apply(ejectionOver(this.health, Date.now()))
      }, Math.min(MAX_TIMER_MS, Math.max(0, p.ejectedUntil - Date.now()))) // a long one is re-armed when it fires early
      this.#ejectionTimer.unref()
    }
  }

  #set(health: Health): void {
    const before = this.takesTraffic
    this.health = health
    this.#trafficChanged(before)
  }

  #trafficChanged(before: boolean): void {
    if (this.takesTraffic === before) return
    // Back in service (not the one trial request of an ejection's end): slow start.
    if (!before && !this.health.passive.trialOpen) this.owner.joined(this)
    this.owner.refreshAvailable()
    if (!before) this.owner.wakeQueue() // its free slots go to requests waiting
  }
}

/** A server's place in one config's upstream. */
export class Member implements Pickable {
  readonly server: Server
  readonly index: number
  /** The weight the balancer reads: baseWeight, times SLOW_START_SCALE with slow_start, lower while ramping. */
  weight: number
  /** The configured weight. */
  readonly configWeight: number
  /** The weight in effect (/status): the runtime API's override, else configWeight. */
  baseWeight: number
  readonly #scale: number
  /** `max_requests`; 0 = no cap. */
  readonly maxRequests: number

  constructor(server: Server, index: number, weight: number, scale = 1, maxRequests = 0) {
    this.server = server
    this.index = index
    this.weight = weight * scale
    this.configWeight = weight
    this.baseWeight = weight
    this.#scale = scale
    this.maxRequests = maxRequests
  }

  /** The runtime API's weight (null: the configured one). A ramping server takes it at its next slow start tick. */
  setWeight(override: number | null): void {
    const w = override ?? this.configWeight
    if (w === this.baseWeight) return
    this.baseWeight = w
    if (this.server.rampFrom < 0) this.weight = w * this.#scale
  }

  get inFlight(): number {
    return this.server.inFlight
  }

  /** At its max_requests cap (per worker process): balancers skip it like a tried server. */
  get full(): boolean {
    return this.maxRequests !== 0 && this.server.inFlight >= this.maxRequests
  }
}

/** Finds a server of the previous config to keep: same upstream, url and pool settings. */
export type ServerReuse = (upstream: string, id: string, poolKey: string) => Server | undefined

export class Upstream {
  readonly name: string
  readonly config: UpstreamConfig
  /** The servers of now: config.servers, then the discovered ones (replaced by setServers). */
  servers: readonly ServerConfig[]
  members: readonly Member[] = []
  balancer!: Balancer<Member>
  readonly log: Logger
  readonly metrics: UpstreamMetrics
  /** The access log's part for requests answered without a server. */
  readonly accessTarget: Buffer
  /** `Retry-After` on a 503: when a server may be back (next health check or end of an ejection). */
  readonly retryAfter: string
  /** Members whose server takes traffic now, in index order. */
  available: readonly Member[] = []
  /** The hash key and sticky cookie of a request (null: neither is configured). */
  affinity: Affinity | null = null
  /** Some server has max_requests. */
  readonly capped: boolean
  /** Where requests wait when every server is full; null without `queue` (then 503 at once). */
  readonly queue: RequestQueue | null
  /** retry_on as a bit mask (core/retry-on.ts), and whether it lists a status. */
  readonly retryOn: number
  readonly retriesStatus: boolean
  readonly retryBudget: RetryBudget
  #rampTimer: NodeJS.Timeout | null = null
  readonly #metrics: Metrics
  #byId = new Map<string, Server>()

  /**
   * `running`: this upstream was in the previous config too, so a server new to it joins a
   * running upstream (slow start). `queue`: the previous config's queue of this upstream,
   * kept with the requests waiting in it.
   */
  constructor(config: UpstreamConfig, log: Logger, metrics: Metrics, reuse: ServerReuse, running = false, queue: RequestQueue | null = null, discovered: readonly ServerConfig[] = []) {
    this.name = config.name
    this.config = config
    this.log = log.child({ upstream: config.name })
    this.#metrics = metrics
    this.metrics = metrics.forUpstream(config.name)
    this.accessTarget = AccessLog.target(config.name, '')
    this.servers = [...config.servers, ...discovered]
    this.capped = config.servers.some((s) => s.maxRequests > 0) || config.discovery.some((d) => d.maxRequests > 0)
    if (config.queue === null || !this.capped) this.queue = null
    else if (queue !== null) {
      queue.configure(config.queue)
      this.queue = queue
    } else this.queue = new RequestQueue(config.queue, this.metrics.queueTimeouts())
    this.retryOn = retryOnMask(config.retryOn)
    this.retriesStatus = config.retryOn.some((r) => RETRY_ON.indexOf(r) >= RETRY_ON.indexOf('502'))
    this.retryBudget = new RetryBudget(config.retryBudget.ratio, config.retryBudget.minPerSecond)
    this.#build(reuse, running)
    if (queue !== null) this.wakeQueue() // the new config may have more room
    const backInMs = config.healthCheck?.intervalMs ?? config.passiveHealth.ejectDurationMs
    this.retryAfter = String(Math.max(1, Math.ceil(backInMs / 1000)))
  }

  /** A server of this upstream by id (`host:port`), if it is a member now. */
  serverById(id: string): Server | undefined {
    return this.#byId.get(id)
  }

  /**
   * DNS discovery found a new set: members, balancer and affinity are rebuilt over the `url:`
   * servers and `discovered`. Returns the servers that left (with their last weight), for
   * the caller to drain; the ones that stay keep their Server (pool, health, counts).
   */
  setServers(discovered: readonly ServerConfig[]): { server: Server; weight: number }[] {
    const next = [...this.config.servers, ...discovered]
    const key = (list: readonly ServerConfig[]): string => list.map((s) => `${s.id}/${s.weight}/${s.maxRequests}`).join(',')
    if (key(next) === key(this.servers)) return [] // the same set (a worker told again): nothing to rebuild
    const before = this.members
    const current = new Map(before.map((m) => [m.server.id, m.server]))
    this.servers = next
    // No ramp when the upstream had no server at all (the first answer, at startup).
    this.#build((_upstream, id) => current.get(id), before.length > 0)
    this.wakeQueue()
    return before.filter((m) => this.#byId.get(m.server.id) !== m.server).map((m) => ({ server: m.server, weight: m.configWeight }))
  }

  /** Members, balancer and affinity over `this.servers`: kept Servers from `reuse`, new ones made. */
  #build(reuse: ServerReuse, running: boolean): void {
    const config = this.config
    const key = poolKey(config)
    const scale = config.slowStartMs > 0 ? SLOW_START_SCALE : 1
    this.members = this.servers.map((s, i) => {
      const kept = reuse(config.name, s.id, key)
      const server = kept ?? new Server(s, config, this.log, this.#metrics)
      server.owner = this
      if (kept === undefined && running && config.slowStartMs > 0) this.#startRamp(server)
      return new Member(server, i, s.weight, scale, s.maxRequests)
    })
    this.#byId = new Map(this.members.map((m) => [m.server.id, m.server]))
    this.refreshAvailable()
    this.balancer = createBalancer<Member>(config.balance, this.members.length, { servers: this.servers, random: Math.random })
    this.affinity = Affinity.of(config, this.servers)
    if (config.slowStartMs > 0) this.#rampTick()
  }

  /** Free slots appeared (a server back in service, a reload): requests waiting take them, in order. */
  wakeQueue(): void {
    const queue = this.queue
    if (queue === null) return
    for (let left = queue.length; left > 0; left--) {
      const before = queue.length
      queue.wake()
      if (queue.length === before) return // the head found no free slot
    }
  }

  refreshAvailable(): void {
    this.available = this.members.filter((m) => m.server.takesTraffic)
  }

  /** A server of this upstream takes traffic again: with slow_start, its ramp begins. */
  joined(server: Server): void {
    if (this.config.slowStartMs <= 0) return
    this.#startRamp(server)
    this.#rampTick()
  }

  #startRamp(server: Server): void {
    server.rampFrom = performance.now()
    server.log.info({ slow_start_ms: this.config.slowStartMs }, 'server slow start')
  }

  /** Sets the ramping members' weights; re-arms itself while any ramp is on. */
  #rampTick(): void {
    const duration = this.config.slowStartMs
    const now = performance.now()
    let ramping = false
    for (const m of this.members) {
      const from = m.server.rampFrom
      if (from < 0) continue
      if (m.server.owner !== this) continue // a later config holds the server now: its upstream ramps it
      m.weight = rampWeight(m.baseWeight, now - from, duration)
      if (now - from < duration) ramping = true
      else {
        m.server.rampFrom = -1
        m.server.log.info('server slow start done')
      }
    }
    if (this.#rampTimer !== null) clearTimeout(this.#rampTimer)
    this.#rampTimer = null
    if (!ramping) return
    this.#rampTimer = setTimeout(() => this.#rampTick(), rampTickMs(duration))
    this.#rampTimer.unref()
  }
}
