// A process that serves traffic (its DataPlane: the data listeners over a Runtime that
// reloads swap).
// - single process (workers: 1): it also serves the admin port, runs the health checks
//   and handles the signals: SIGHUP reloads, SIGTERM/SIGINT drain (/readyz turns 503,
//   listeners stop accepting, idle keep-alive connections close, in-flight requests finish
//   up to shutdown_timeout; a second signal exits at once).
// - cluster worker: the primary (primary.ts) does all of that and drives this through
//   messages (ipc.ts); signals sent to a worker directly are ignored.
import http from 'node:http'
import type { Config, ListenerConfig } from '../../config/types.js'
import { loadConfigFile, formatProblem } from '../../config/load.js'
import { restartNeeded } from '../../config/restart.js'
import { Runtime } from '../runtime/runtime.js'
import { adminListenerConfig, listen, type Listener, type UpgradeListener } from './listeners.js'
import { proxyUpgrade } from '../request/websocket.js'
import type { Duplex } from 'node:stream'
import { forward, type Lifecycle } from '../request/forward.js'
import { adminHandler, registryMetrics } from './admin.js'
import { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'

export interface Daemon {
  /** Resolves with the process exit code once the daemon has stopped. */
  readonly stopped: Promise<number>
}

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

/** Validates a new config against the running one: every problem, as log-ready strings. */
export async function readReload(file: string, running: Config): Promise<{ config: Config } | { problems: string[] }> {
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) return { problems: loaded.problems.map(formatProblem) }
  const problems = restartNeeded(running, loaded.config)
  return problems.length > 0 ? { problems } : { config: loaded.config }
}

export class DataPlane {
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly lifecycle: Lifecycle = { draining: false, websockets: new Set() }
  runtime: Runtime
  readonly listeners: Listener[] = []

  constructor(config: Config, log: Logger, metrics: Metrics) {
    this.#log = log
    this.#metrics = metrics
    log.level = process.env.LOG_LEVEL ?? config.log.level
    this.runtime = new Runtime(config, log, this.lifecycle, metrics)
    metrics.setSource(this.runtime)
  }

  /** Binds every data listener; false (and everything closed) when one fails. */
  async listen(): Promise<boolean> {
    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      proxyUpgrade(this.runtime.forward, req, socket, head)
    }
    for (const [i, lc] of this.runtime.config.listeners.entries()) {
      const maxBody = lc.maxBodySize
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        forward(this.runtime.forward, req, res, maxBody)
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
      for (const l of this.listeners) l.server.closeAllConnections()
      for (const t of this.lifecycle.websockets) t.destroy() // upgraded sockets are no longer the HTTP server's
    }, this.runtime.config.shutdownTimeoutMs)
    deadline.unref()
    await Promise.all(this.listeners.map((l) => closeListener(l)))
    clearTimeout(deadline)
    await this.runtime.close()
  }
}

/** workers: 1 — everything in this process. */
export async function startDaemon(config: Config, file: string, log: Logger): Promise<Daemon> {
  const metrics = new Metrics('single')
  metrics.lastReloadSuccess.setToCurrentTime()
  const plane = new DataPlane(config, log, metrics)
  if (!(await plane.listen())) return { stopped: Promise.resolve(1) }
  const admin = adminHandler({
    metrics: registryMetrics(metrics.registry),
    lifecycle: plane.lifecycle,
    status: () => plane.runtime.status(),
    purge: async (url) => { await plane.runtime.purge(url) },
  })
  const adminListener = await bind('admin', adminListenerConfig(config.admin), admin, log)
  if (adminListener === null) {
    await plane.drain()
    return { stopped: Promise.resolve(1) }
  }
  plane.runtime.startHealthChecks()
  log.info({ listeners: plane.listeners.length }, 'ready')

  let resolveStopped: (code: number) => void = () => {}
  const stopped = new Promise<number>((r) => { resolveStopped = r })

  // SIGHUP: one reload at a time; signals that arrive meanwhile are folded into one more.
  let reloading: Promise<void> | null = null
  let again = false
  const reload = async (): Promise<void> => {
    const result = await readReload(file, plane.runtime.config)
    if (plane.lifecycle.draining) return
    if ('problems' in result) {
      metrics.configReloads.inc({ result: 'failure' })
      log.error({ config: file, problems: result.problems }, 'reload refused: the running config stays')
      return
    }
    plane.apply(result.config).startHealthChecks()
    metrics.configReloads.inc({ result: 'success' })
    metrics.lastReloadSuccess.setToCurrentTime()
    log.info({ config: file }, 'config reloaded')
  }
  process.on('SIGHUP', () => {
    if (plane.lifecycle.draining) return
    if (reloading !== null) {
      again = true
      return
    }
    reloading = (async () => {
      do {
        again = false
        await reload()
      } while (again)
      reloading = null
    })()
  })

  const shutdown = (signal: NodeJS.Signals): void => {
    if (plane.lifecycle.draining) {
      log.warn({ signal }, 'second signal: exiting now')
      resolveStopped(1)
      return
    }
    log.info({ signal, timeout_ms: plane.runtime.config.shutdownTimeoutMs }, 'shutting down: draining in-flight requests')
    void plane.drain().then(async () => {
      // The admin port closes last, so /readyz answers 503 for the whole drain.
      await closeListener(adminListener)
      log.info('stopped')
      resolveStopped(0)
    })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  return { stopped }
}
