// A process that serves traffic: the data listeners over a Runtime that reloads swap. The
// single process (single.ts) and every cluster worker (worker.ts) have one; what drives it
// (signals, or the primary's messages) is theirs.
import http from 'node:http'
import type { ServerHttp2Session } from 'node:http2'
import type { Duplex } from 'node:stream'
import type { Config, ListenerConfig } from '../../config/types.js'
import { Runtime } from '../runtime/runtime.js'
import type { DiscoveredSets } from '../runtime/discovery.js'
import type { Lifecycle } from '../runtime/context.js'
import { forward } from '../request/forward.js'
import { proxyUpgrade } from '../request/websocket.js'
import { redirectHttps } from '../request/https-redirect.js'
import { answerAcmeChallenge } from '../request/acme-challenge.js'
import type { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { listen, type HandshakeHook, type Listener, type UpgradeListener } from './listeners.js'
import { ClientAddressing } from '../runtime/client-address.js'
import type { AdminState } from '../../core/admin-state.js'

/** Binds one listener; a failure is logged with the config key and is fatal for the caller. */
export async function bind(what: string, lc: ListenerConfig, handler: http.RequestListener, log: Logger, onUpgrade?: UpgradeListener, onHandshake?: HandshakeHook): Promise<Listener | null> {
  try {
    const onAbuse = (session: ServerHttp2Session): void => {
      log.warn({ listener: lc.name, client: session.socket?.remoteAddress }, 'h2 connection closed: too many streams cancelled at once (rapid reset)')
    }
    const l = await listen(lc, handler, onUpgrade, onHandshake, onAbuse)
    const fields = lc.tls === null ? {} : { tls: true, http2: lc.http2, certificates: lc.tls.certificates.length }
    log.info({ listener: lc.name, address: lc.address, port: l.port, ...fields }, what === 'admin' ? 'admin listening' : 'listening')
    return l
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    log.fatal({ listener: lc.name, err: code }, `${what}: cannot listen on ${lc.address}:${lc.port}: ${code}`)
    return null
  }
}

/** Stops accepting and resolves once every connection of the listener has closed. */
export function closeListener(l: Listener): Promise<void> {
  return new Promise((resolve) => {
    l.server.close(() => resolve())
    ;(l.server as http.Server).closeIdleConnections() // every kind has it (an h2 listener: its HTTP/1.1 connections; close() ends its sessions)
    l.closeSilentConnections()
  })
}

export class DataPlane {
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly lifecycle: Lifecycle
  runtime: Runtime
  readonly listeners: Listener[] = []
  /** The runtime API's table (server-admin.ts): applied to every Runtime this plane builds. */
  #admin: ReadonlyMap<string, AdminState> = new Map()
  /** ACME HTTP-01 tokens this process answers on its plain listeners (token -> key authorization). */
  readonly challenges = new Map<string, string>()

  /** `discovered`: the servers DNS discovery has found so far (runtime/discovery.ts). */
  constructor(config: Config, log: Logger, metrics: Metrics, lifecycle: Lifecycle, discovered?: DiscoveredSets) {
    this.#log = log
    this.#metrics = metrics
    this.lifecycle = lifecycle
    log.level = process.env.LOG_LEVEL ?? config.log.level
    this.runtime = new Runtime(config, log, lifecycle, metrics, null, discovered)
    metrics.setSource(this.runtime)
  }

  /** Binds every data listener; false (and everything closed) when one fails. */
  async listen(): Promise<boolean> {
    const plainUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      proxyUpgrade(this.runtime.forward, req, socket, head)
    }
    const onHandshake: HandshakeHook = (listener, protocol, ok) => this.#metrics.tlsHandshake(listener, protocol, ok)
    // The HTTPS port a redirect_https listener writes in Location, known once every listener is bound.
    let httpsPort: number | null = null
    // With tls.acme, plain listeners answer HTTP-01 challenges first; without, they run no extra step.
    const acme = this.runtime.config.listeners.some((l) => l.tls?.acme != null)
    const challenges = this.challenges
    for (const [i, lc] of this.runtime.config.listeners.entries()) {
      const maxBody = lc.maxBodySize
      // A listener with trusted_proxies or proxy_protocol tags each request with its client
      // address first (runtime/client-address.ts); one without runs no extra step.
      const addressing = ClientAddressing.of(lc)
      const serve = lc.redirectHttps
        ? (req: http.IncomingMessage, res: http.ServerResponse): void => { redirectHttps(this.runtime.forward, req, res, httpsPort, maxBody) }
        : (req: http.IncomingMessage, res: http.ServerResponse): void => { forward(this.runtime.forward, req, res, maxBody) }
      const handle = !acme || lc.tls !== null
        ? serve
        : (req: http.IncomingMessage, res: http.ServerResponse): void => {
          if (!answerAcmeChallenge(this.runtime.forward, challenges, req, res)) serve(req, res)
        }
      const onRequest = addressing === null
        ? handle
        : (req: http.IncomingMessage, res: http.ServerResponse): void => {
          addressing.tag(req)
          handle(req, res)
        }
      const onUpgrade = addressing === null ? plainUpgrade : (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
        addressing.tag(req)
        proxyUpgrade(this.runtime.forward, req, socket, head)
      }
      const l = await bind(`listeners.${i}`, lc, onRequest, this.#log, onUpgrade, onHandshake)
      if (l === null) {
        await this.drain()
        return false
      }
      this.listeners.push(l)
    }
    httpsPort = redirectPort(this.listeners)
    return true
  }

  /** The runtime API's table changed: every server of the running config takes its entry. */
  setAdmin(table: ReadonlyMap<string, AdminState>): void {
    this.#admin = table
    this.runtime.applyAdmin(table)
  }

  /** Serves an ACME certificate on the listener named `listener` from the next handshake on (process/acme.ts). */
  install(listener: string, cert: string, key: string): void {
    const store = this.listeners.find((l) => l.config.name === listener)?.certificates
    if (store == null) return
    try {
      store.install(cert, key)
    } catch (err) {
      this.#log.error({ listener, err: (err as NodeJS.ErrnoException).code ?? String(err) }, 'ACME certificate refused by OpenSSL: the previous one keeps serving')
    }
  }

  /**
   * Swaps in a validated config: new requests use it at once; in-flight ones finish on the old
   * one. `admin`: the runtime API's table for it (kept as it is when not given); `discovered`:
   * the servers DNS discovery has found for it.
   */
  apply(config: Config, admin: ReadonlyMap<string, AdminState> = this.#admin, discovered?: DiscoveredSets): Runtime {
    const previous = this.runtime
    this.#log.level = process.env.LOG_LEVEL ?? config.log.level
    // The listeners are the same ones (restart.ts): only their certificates may have changed.
    config.listeners.forEach((lc, i) => {
      const store = this.listeners[i]?.certificates
      if (store != null && lc.tls !== null) store.replace(lc.tls)
    })
    const next = new Runtime(config, this.#log, this.lifecycle, this.#metrics, previous, discovered)
    this.#admin = admin
    next.applyAdmin(admin)
    this.runtime = next
    this.#metrics.setSource(next)
    previous.retire(next)
    return next
  }

  /** Graceful: stop accepting, let in-flight requests finish (cut at shutdown_timeout), close pools. */
  async drain(): Promise<void> {
    this.lifecycle.draining = true
    const deadline = setTimeout(() => {
      this.#log.warn({ websockets: this.lifecycle.websockets.size }, 'shutdown_timeout reached: closing the remaining connections')
      this.kill()
    }, this.runtime.config.shutdownTimeoutMs)
    deadline.unref()
    await Promise.all(this.listeners.map((l) => closeListener(l)))
    clearTimeout(deadline)
    await this.runtime.close()
  }

  /** Closes every connection now, WebSocket tunnels included (shutdown_timeout, or a second signal). */
  kill(): void {
    for (const l of this.listeners) l.closeAllConnections()
    for (const t of this.lifecycle.websockets) t.destroy() // upgraded sockets are no longer the HTTP server's
  }
}

/**
 * The port redirect_https writes: none when a TLS listener is on 443 (or there is none); the
 * bound port of the only TLS listener otherwise; none when several share the choice.
 */
export function redirectPort(listeners: readonly Listener[]): number | null {
  const tls = listeners.filter((l) => l.tls)
  if (tls.length !== 1 || tls.some((l) => l.port === 443)) return null
  return (tls[0] as Listener).port
}
