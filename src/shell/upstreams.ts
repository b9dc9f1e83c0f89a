// Runtime objects built once per config load: one Server per configured server (with
// its undici Pool, its bound metrics and logger, its health), one Upstream per named
// group (with its balancer and the list of servers that take traffic). The request path
// reads these, bumps `inFlight`, and reports outcomes through the note*() methods.
import { Pool } from 'undici'
import type { ServerConfig, UpstreamConfig } from '../config/types.js'
import { createBalancer, type Balancer, type Pickable } from '../core/balancers.js'
import type { ErrorReason } from '../core/errors.js'
import {
  initialHealth, activeResult, passiveFailure, passiveSuccess, ejectionOver, probeStarted, probeAbandoned,
  stateOf, takesTraffic, type Health, type ServerState, type Step,
} from '../core/health.js'
import { MAX_TIMER_MS } from '../config/duration.js'
import type { Logger } from './log.js'
import { AccessLog } from './access-log.js'
import type { Metrics, ServerMetrics, UpstreamMetrics } from './metrics.js'

/** How passive failures read in the state-change log line ("connect refused x3"). */
const REASON_TEXT: Record<ErrorReason, string> = {
  connect_refused: 'connect refused',
  connect_timeout: 'connect timeout',
  response_timeout: 'response timeout',
  reset: 'connection reset',
  other: 'bad response',
}

export class Server implements Pickable {
  readonly index: number
  readonly weight: number
  readonly id: string // host:port, the `server` label everywhere
  readonly url: string
  readonly pool: Pool
  readonly log: Logger
  readonly metrics: ServerMetrics
  /** This server's part of an access log line, made once. */
  readonly accessTarget: string
  inFlight = 0
  health: Health = initialHealth
  ejectionTimer: NodeJS.Timeout | null = null

  constructor(index: number, config: ServerConfig, upstream: UpstreamConfig, log: Logger, metrics: Metrics) {
    this.index = index
    this.weight = config.weight
    this.id = config.id
    this.url = config.url
    this.log = log.child({ server: config.id })
    this.metrics = metrics.forServer(upstream.name, config.id)
    this.accessTarget = AccessLog.target(upstream.name, config.id)
    this.pool = new Pool(config.url, {
      connections: upstream.maxConnectionsPerServer,
      pipelining: 1, // a pipelined request dies with the one before it: never safe to retry
      connect: { timeout: upstream.timeouts.connectMs },
      headersTimeout: upstream.timeouts.responseHeadersMs,
      bodyTimeout: upstream.timeouts.idleMs,
    })
  }

  get state(): ServerState {
    return stateOf(this.health)
  }
}

export class Upstream {
  readonly name: string
  readonly config: UpstreamConfig
  readonly servers: readonly Server[]
  readonly balancer: Balancer<Server>
  readonly log: Logger
  readonly metrics: UpstreamMetrics
  /** The access log's part for requests answered without a server. */
  readonly accessTarget: string
  /** `Retry-After` on a 503: when a server may be back (next health check or end of an ejection). */
  readonly retryAfter: string
  /** Servers that take traffic now, in index order; rebuilt only when one of them changes. */
  available: readonly Server[]
  /** Open proxied WebSocket connections (the WebSocket issue fills this in). */
  websockets = 0

  constructor(config: UpstreamConfig, log: Logger, metrics: Metrics) {
    this.name = config.name
    this.config = config
    this.log = log.child({ upstream: config.name })
    this.metrics = metrics.forUpstream(config.name)
    this.accessTarget = AccessLog.target(config.name, '')
    this.servers = config.servers.map((s, i) => new Server(i, s, config, this.log, metrics))
    this.available = this.servers
    this.balancer = createBalancer<Server>(config.balance, this.servers.length)
    const backInMs = config.healthCheck?.intervalMs ?? config.passiveHealth.ejectDurationMs
    this.retryAfter = String(Math.max(1, Math.ceil(backInMs / 1000)))
  }

  /** An active health check probe came back. */
  noteProbe(server: Server, ok: boolean, detail: string): void {
    const cfg = this.config.healthCheck
    if (cfg === null) return
    ;(ok ? server.metrics.probeSuccess : server.metrics.probeFailure).inc()
    this.#apply(server, activeResult(server.health, ok, detail, cfg))
  }

  /** A response head arrived from the server. Runs per request: a no-op unless it ends a failure run or a probe. */
  noteSuccess(server: Server): void {
    const p = server.health.passive
    if (p.failures !== 0 || p.probing) this.#apply(server, passiveSuccess(server.health))
  }

  /** A connect error, reset or timeout from the server. */
  noteFailure(server: Server, reason: ErrorReason): void {
    this.#apply(server, passiveFailure(server.health, REASON_TEXT[reason], Date.now(), this.config.passiveHealth))
  }

  /** The balancer picked the server; if its ejection is over, this request is the one probe. Returns whether it is. */
  notePicked(server: Server): boolean {
    if (!server.health.passive.probing) return false
    this.#set(server, probeStarted(server.health))
    return true
  }

  /** The probe request ended without a verdict (client gone, bad response): let another request probe. */
  noteAbandoned(server: Server): void {
    if (server.health.passive.probeInFlight) this.#set(server, probeAbandoned(server.health))
  }

  close(): Promise<void> {
    for (const s of this.servers) if (s.ejectionTimer !== null) clearTimeout(s.ejectionTimer)
    return Promise.all(this.servers.map((s) => s.pool.close())).then(() => undefined)
  }

  #apply(server: Server, step: Step): void {
    const from = server.state
    this.#set(server, step.health)
    if (step.changed) server.log.warn({ from, to: server.state, reason: step.reason }, 'server state changed')
    else if (step.reason !== '') server.log.info({ state: from, reason: step.reason }, 'server health') // re-ejected, probing
    const p = server.health.passive
    if (p.ejectedUntil !== 0 && !p.probing && server.ejectionTimer === null) {
      server.ejectionTimer = setTimeout(() => {
        server.ejectionTimer = null
        this.#apply(server, ejectionOver(server.health, Date.now()))
      }, Math.min(MAX_TIMER_MS, Math.max(0, p.ejectedUntil - Date.now()))) // a long one is re-armed when it fires early
      server.ejectionTimer.unref()
    }
  }

  #set(server: Server, health: Health): void {
    const before = takesTraffic(server.health)
    server.health = health
    if (takesTraffic(health) !== before) this.available = this.servers.filter((s) => takesTraffic(s.health))
  }
}
