// The running daemon: listeners over a Runtime, and the signals that end it.
// SIGTERM/SIGINT drain gracefully (stop accepting, close idle keep-alive connections,
// let in-flight requests finish up to shutdown_timeout); a second signal exits at once.
import type { Config } from '../config/types.js'
import { Runtime } from './runtime.js'
import { listen, type Listener } from './listeners.js'
import { forward, type Lifecycle } from './forward.js'
import type { Logger } from './log.js'

export interface Daemon {
  /** Resolves with the process exit code once the daemon has stopped. */
  readonly stopped: Promise<number>
}

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const lifecycle: Lifecycle = { draining: false }
  const runtime = new Runtime(config, log, lifecycle)
  const listeners: Listener[] = []
  const onRequest = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    forward(runtime.forward, req, res)
  }
  for (const [i, lc] of config.listeners.entries()) {
    try {
      const l = await listen(lc, onRequest)
      listeners.push(l)
      log.info({ listener: lc.name, address: lc.address, port: l.port }, 'listening')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      log.fatal({ listener: lc.name, err: e.code ?? String(e) }, `listeners.${i}: cannot listen on ${lc.address}:${lc.port}: ${e.code ?? e.message}`)
      await Promise.all(listeners.map((x) => closeServer(x)))
      await runtime.close()
      return { stopped: Promise.resolve(1) }
    }
  }

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
    }, config.shutdownTimeoutMs)
    deadline.unref()
    void Promise.all(listeners.map((l) => closeServer(l)))
      .then(() => runtime.close())
      .then(() => {
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
