// A process that serves traffic: the data listeners over a Runtime that reloads swap. The
// single process (single.ts) and every cluster worker (worker.ts) have one; what drives it
// (signals, or the primary's messages) is theirs.
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { Config, ListenerConfig } from '../../config/types.js'
import { Runtime } from '../runtime/runtime.js'
import type { Lifecycle } from '../runtime/context.js'
import { forward } from '../request/forward.js'
import { proxyUpgrade } from '../request/websocket.js'
import type { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { listen, type Listener, type UpgradeListener } from './listeners.js'
import { ClientAddressing } from '../runtime/client-address.js'

/** Binds one listener; a failure is logged with the config key and is fatal for the caller. */
export async function bind(what: string, lc: ListenerConfig, handler: http.RequestListener, log: Logger, onUpgrade?: UpgradeListener): Promise<Listener | null> {
  try {
    const l = await listen(lc, handler, onUpgrade)
    log.info({ listener: lc.name, address: lc.address, port: l.port }, what === 'admin' ? 'admin listening' : 'listening')
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
    l.server.closeIdleConnections()
    l.closeSilentConnections()
  })
}

export class DataPlane {
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly lifecycle: Lifecycle
  runtime: Runtime
  readonly listeners: Listener[] = []

  constructor(config: Config, log: Logger, metrics: Metrics, lifecycle: Lifecycle) {
    this.#log = log
    this.#metrics = metrics
    this.lifecycle = lifecycle
    log.level = process.env.LOG_LEVEL ?? config.log.level
    this.runtime = new Runtime(config, log, lifecycle, metrics)
    metrics.setSource(this.runtime)
  }

  /** Binds every data listener; false (and everything closed) when one fails. */
  async listen(): Promise<boolean> {
    const plainUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      proxyUpgrade(this.runtime.forward, req, socket, head)
    }
    for (const [i, lc] of this.runtime.config.listeners.entries()) {
      const maxBody = lc.maxBodySize
      // A listener with trusted_proxies or proxy_protocol tags each request with its client
      // address first (runtime/client-address.ts); one without runs no extra step.
      const addressing = ClientAddressing.of(lc)
      const onRequest = addressing === null
        ? (req: http.IncomingMessage, res: http.ServerResponse): void => forward(this.runtime.forward, req, res, maxBody)
        : (req: http.IncomingMessage, res: http.ServerResponse): void => {
          addressing.tag(req)
          forward(this.runtime.forward, req, res, maxBody)
        }
      const onUpgrade = addressing === null ? plainUpgrade : (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
        addressing.tag(req)
        proxyUpgrade(this.runtime.forward, req, socket, head)
      }
      const l = await bind(`listeners.${i}`, lc, onRequest, this.#log, onUpgrade)
      if (l === null) {
        await this.drain()
        return false
      }
      this.listeners.push(l)
    }
    return true
  }

  /** Swaps in a validated config: new requests use it at once; in-flight ones finish on the old one. */
  apply(config: Config): Runtime {
    const previous = this.runtime
    this.#log.level = process.env.LOG_LEVEL ?? config.log.level
    const next = new Runtime(config, this.#log, this.lifecycle, this.#metrics, previous)
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
    for (const l of this.listeners) l.server.closeAllConnections()
    for (const t of this.lifecycle.websockets) t.destroy() // upgraded sockets are no longer the HTTP server's
  }
}
