// The running daemon: listeners and the admin port over a Runtime, and the signals that
// end it. SIGTERM/SIGINT drain gracefully (/readyz turns 503, listeners stop accepting,
// idle keep-alive connections close, in-flight requests finish up to shutdown_timeout);
// a second signal exits at once.
import http from 'node:http'
import type { Config, ListenerConfig } from '../config/types.js'
import { Runtime } from './runtime.js'
import { listen, type Listener } from './listeners.js'
import { forward, type Lifecycle } from './forward.js'
import { adminHandler } from './admin.js'
import { Metrics } from './metrics.js'
import type { Logger } from './log.js'

export interface Daemon {
  /** Resolves with the process exit code once the daemon has stopped. */
  readonly stopped: Promise<number>
}

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const lifecycle: Lifecycle = { draining: false }
  const metrics = new Metrics()
  const runtime = new Runtime(config, log, lifecycle, metrics)
  metrics.setSource(runtime)
  metrics.lastReloadSuccess.setToCurrentTime()

  const listeners: Listener[] = [] // the data listeners
  let adminListener: Listener | null = null
  // Data listeners first; the admin port last, so /readyz answers 503 for the whole drain.
  const closeAll = async (): Promise<void> => {
    await Promise.all(listeners.map((l) => closeServer(l)))
    await runtime.close()
    if (adminListener !== null) await closeServer(adminListener)
  }
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    forward(runtime.forward, req, res)
  }
  const bind = async (what: string, lc: ListenerConfig, handler: http.RequestListener): Promise<Listener | null> => {
    try {
      const l = await listen(lc, handler)
      log.info({ listener: lc.name, address: lc.address, port: l.port }, what === 'admin' ? 'admin listening' : 'listening')
      return l
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err)
      log.fatal({ listener: lc.name, err: code }, `${what}: cannot listen on ${lc.address}:${lc.port}: ${code}`)
      return null
    }
  }

  for (const [i, lc] of config.listeners.entries()) {
    const l = await bind(`listeners.${i}`, lc, onRequest)
    if (l === null) {
      await closeAll()
      return { stopped: Promise.resolve(1) }
    }
    listeners.push(l)
  }
  const admin = adminHandler({ registry: metrics.registry, lifecycle, status: () => runtime.status() })
  adminListener = await bind('admin', { name: 'admin', address: config.admin.address, port: config.admin.port }, admin)
  if (adminListener === null) {
    await closeAll()
    return { stopped: Promise.resolve(1) }
  }
  runtime.startHealthChecks()
  log.info({ listeners: listeners.length }, 'ready')

  let resolveStopped: (code: number) => void = () => {}
  const stopped = new Promise<number>((r) => { resolveStopped = r })

  const shutdown = (signal: NodeJS.Signals): void => {
    if (lifecycle.draining) {
      log.warn({ signal }, 'second signal: exiting now')
      resolveStopped(1)
      return
    }
    lifecycle.draining = true
    log.info({ signal, timeout_ms: config.shutdownTimeoutMs }, 'shutting down: draining in-flight requests')
    const deadline = setTimeout(() => {
      log.warn('shutdown_timeout reached: closing the remaining connections')
      for (const l of listeners) l.server.closeAllConnections()
      adminListener?.server.closeAllConnections()
    }, config.shutdownTimeoutMs)
    deadline.unref()
    void closeAll().then(() => {
      clearTimeout(deadline)
      log.info('stopped')
      resolveStopped(0)
    })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  return { stopped }
}

/** Stops accepting and resolves once every connection of the listener has closed. */
function closeServer(l: Listener): Promise<void> {
  return new Promise((resolve) => {
    l.server.close(() => resolve())
    l.server.closeIdleConnections()
  })
}
