// Runtime objects built once per config load: one Server per configured server (with
// its undici Pool), one Upstream per named group (with its balancer). The request path
// only reads these and bumps `inFlight`.
import { Pool } from 'undici'
import type { ServerConfig, UpstreamConfig } from '../config/types.js'
import { createBalancer, type Balancer, type Pickable } from '../core/balancers.js'
import type { Logger } from './log.js'

export class Server implements Pickable {
  readonly index: number
  readonly weight: number
  readonly id: string // host:port, the `server` label everywhere
  readonly url: string
  readonly pool: Pool
  readonly log: Logger
  inFlight = 0

  constructor(index: number, config: ServerConfig, upstream: UpstreamConfig, log: Logger) {
    this.index = index
    this.weight = config.weight
    this.id = config.id
    this.url = config.url
    this.log = log.child({ server: config.id })
    this.pool = new Pool(config.url, {
      connections: upstream.maxConnectionsPerServer,
      pipelining: 1, // a pipelined request dies with the one before it: never safe to retry
      connect: { timeout: upstream.timeouts.connectMs },
      headersTimeout: upstream.timeouts.responseHeadersMs,
      bodyTimeout: upstream.timeouts.idleMs,
    })
  }
}

export class Upstream {
  readonly name: string
  readonly config: UpstreamConfig
  readonly servers: readonly Server[]
  readonly balancer: Balancer<Server>
  readonly log: Logger
  /** `Retry-After` on a 503: when a server may be back (next health check or end of an ejection). */
  readonly retryAfter: string
  /** Servers able to take traffic now, in index order. Health checks (issue 3) edit this list. */
  available: readonly Server[]

  constructor(config: UpstreamConfig, log: Logger) {
    this.name = config.name
    this.config = config
    this.log = log.child({ upstream: config.name })
    this.servers = config.servers.map((s, i) => new Server(i, s, config, this.log))
    this.available = this.servers
    const backInMs = config.healthCheck?.intervalMs ?? config.passiveHealth.ejectDurationMs
    this.retryAfter = String(Math.max(1, Math.ceil(backInMs / 1000)))
    this.balancer = createBalancer<Server>(config.balance, this.servers.length)
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.pool.close()))
  }
}
