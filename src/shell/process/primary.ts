// workers > 1: the primary process, in the manner of gunicorn's master. It forks the
// workers (node:cluster shares the listening sockets) and restarts one that dies, with
// backoff; it validates and fans out reloads on SIGHUP; it runs the active health checks
// once per server and broadcasts each result; it serves the admin port with one
// aggregated /metrics (prom-client's AggregatorRegistry) and a /status merged from the
// workers'; on SIGTERM/SIGINT it asks every worker to drain, then exits.
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { AggregatorRegistry } from 'prom-client'
import type { Config } from '../../config/types.js'
import type { ServerState } from '../../core/health.js'
import { Runtime, type StatusDoc } from '../runtime/runtime.js'
import { Metrics } from '../observe/metrics.js'
import { adminHandler } from './admin.js'
import { bind, closeListener, readReload } from './data-plane.js'
import { adminListenerConfig } from './listeners.js'
import type { Lifecycle } from '../request/forward.js'
import type { Logger } from '../observe/log.js'
import { isFromWorker, type FromWorker, type ToWorker } from './ipc.js'

export function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers
}

const RESTART_MIN_MS = 250
const RESTART_MAX_MS = 30_000
/** A worker that lived this long resets the backoff of its slot. */
const STABLE_MS = 30_000
/** How long /status waits for the workers' answers. */
const STATUS_TIMEOUT_MS = 2_000

/** Across workers the worst state wins (a server one worker ejected is shown ejected). */
const RANK: Record<ServerState, number> = { healthy: 0, ejected: 1, unhealthy: 2, draining: 3 }

export function mergeStatus(docs: readonly StatusDoc[]): StatusDoc {
  const out: StatusDoc = { upstreams: {} }
  for (const doc of docs) {
    for (const [name, u] of Object.entries(doc.upstreams)) {
      const merged = (out.upstreams[name] ??= { balance: u.balance, servers: [] })
      for (const s of u.servers) {
        const have = merged.servers.find((x) => x.url === s.url)
        if (have === undefined) merged.servers.push({ ...s })
        else {
          have.active_requests += s.active_requests
          if (RANK[s.state as ServerState] > RANK[have.state as ServerState]) have.state = s.state
        }
      }
    }
  }
  return out
}

interface Slot {
  worker: Worker | null
  started: number
  failures: number
  ready: boolean
}

export async function runPrimary(config: Config, file: string, log: Logger): Promise<number> {
  const count = workerCount(config)
  const lifecycle: Lifecycle = { draining: false, websockets: new Set() }
  const metrics = new Metrics('primary')
  metrics.lastReloadSuccess.setToCurrentTime()
  // The primary's own Runtime serves no traffic: it holds the servers' active health and runs the checks.
  let runtime = new Runtime(config, log, lifecycle, metrics)
  const aggregator = new AggregatorRegistry()
  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: null, started: 0, failures: 0, ready: false }))

  const live = (): Worker[] => slots.flatMap((s) => (s.worker !== null && s.ready ? [s.worker] : []))
  const broadcast = (m: ToWorker): void => {
    for (const w of live()) w.send(m)
  }
  const configMessage = (): ToWorker => ({
    type: 'switchyard:config',
    config: runtime.config,
    unhealthy: [...runtime.upstreams.values()].flatMap((u) => u.members
      .filter((m) => !m.server.health.active.healthy)
      .map((m): [string, string] => [u.name, m.server.id])),
  })
  const startChecks = (): void => runtime.startHealthChecks((upstream, server, ok, detail) => {
    broadcast({ type: 'switchyard:probe', upstream, server, ok, detail })
  })

  // /status: every live worker's view, merged.
  let statusId = 0
  const pendingStatus = new Map<number, (doc: StatusDoc) => void>()
  const status = async (): Promise<StatusDoc> => {
    const workers = live()
    const docs = await Promise.all(workers.map((w) => new Promise<StatusDoc | null>((resolve) => {
      const id = ++statusId
      const timer = setTimeout(() => { pendingStatus.delete(id); resolve(null) }, STATUS_TIMEOUT_MS)
      pendingStatus.set(id, (doc) => { clearTimeout(timer); resolve(doc) })
      w.send({ type: 'switchyard:status', id } satisfies ToWorker)
    })))
    return mergeStatus(docs.filter((d): d is StatusDoc => d !== null))
  }

  // Admin purge: every live worker drops it from its caches (memory stores are per worker).
  const pendingPurge = new Map<number, () => void>()
  const purge = async (url: URL | null): Promise<void> => {
    await Promise.all(live().map((w) => new Promise<void>((resolve) => {
      const id = ++statusId
      const timer = setTimeout(() => { pendingPurge.delete(id); resolve() }, STATUS_TIMEOUT_MS)
      pendingPurge.set(id, () => { clearTimeout(timer); resolve() })
      w.send({ type: 'switchyard:purge', id, url: url === null ? null : url.href } satisfies ToWorker)
    })))
  }

  let exitCode = 0
  let resolveDone: (code: number) => void = () => {}
  const done = new Promise<number>((r) => { resolveDone = r })
  let startingUp = true
  let resolveReady: () => void = () => {}
  const allReady = new Promise<void>((r) => { resolveReady = r })

  const fork = (slot: Slot, index: number): void => {
    const worker = cluster.fork({ SWITCHYARD_WORKER_INDEX: String(index) })
    slot.worker = worker
    slot.started = Date.now()
    slot.ready = false
    worker.on('online', () => worker.send(configMessage()))
    worker.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return
      const msg = m as FromWorker
      if (msg.type === 'switchyard:ready') {
        slot.ready = true
        log.info({ worker: index, worker_pid: worker.process.pid }, 'worker ready')
        if (slots.every((s) => s.ready)) resolveReady()
      } else if (msg.type === 'switchyard:purged') {
        pendingPurge.get(msg.id)?.()
        pendingPurge.delete(msg.id)
      } else if (msg.type === 'switchyard:status') {
        pendingStatus.get(msg.id)?.(msg.status)
        pendingStatus.delete(msg.id)
      }
    })
    worker.on('exit', (code, signal) => {
      slot.worker = null
      slot.ready = false
      if (lifecycle.draining) {
        if (slots.every((s) => s.worker === null)) resolveDone(exitCode)
        return
      }
      if (startingUp) {
        log.fatal({ worker: index, code, signal }, 'a worker failed to start: stopping')
        void stopAll(1)
        return
      }
      slot.failures = Date.now() - slot.started > STABLE_MS ? 0 : slot.failures + 1
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** slot.failures)
      log.warn({ worker: index, worker_pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'worker died: restarting it')
      setTimeout(() => { if (!lifecycle.draining) fork(slot, index) }, delay).unref()
    })
  }

  const stopAll = async (code: number): Promise<void> => {
    lifecycle.draining = true
    exitCode = code
    for (const s of slots) s.worker?.send({ type: 'switchyard:shutdown' } satisfies ToWorker)
    if (slots.every((s) => s.worker === null)) resolveDone(code)
    const backstop = setTimeout(() => {
      log.warn('workers still running past shutdown_timeout: killing them')
      for (const s of slots) s.worker?.process.kill('SIGKILL')
    }, runtime.config.shutdownTimeoutMs + 5_000)
    backstop.unref()
    await done
    clearTimeout(backstop)
    resolveDone(code)
  }

  const admin = adminHandler({
    lifecycle,
    status,
    purge,
    metrics: async () => {
      // The primary's own series (reloads, health checks) and the workers' aggregated ones share no name.
      const [own, workers] = await Promise.all([metrics.registry.metrics(), aggregator.clusterMetrics()])
      return { contentType: aggregator.contentType, text: `${own}${workers}` }
    },
  })
  const adminListener = await bind('admin', adminListenerConfig(config.admin), admin, log)
  if (adminListener === null) return 1

  cluster.setupPrimary({ silent: false })
  slots.forEach((slot, i) => fork(slot, i))
  const first = await Promise.race([allReady.then(() => 0), done])
  if (first !== 0) {
    await closeListener(adminListener)
    return first
  }
  startingUp = false
  startChecks()
  log.info({ workers: count }, 'ready')

  let reloading = false
  process.on('SIGHUP', () => {
    if (lifecycle.draining || reloading) return
    reloading = true
    void readReload(file, runtime.config).then((result) => {
      reloading = false
      if (lifecycle.draining) return
      if ('problems' in result) {
        metrics.configReloads.inc({ result: 'failure' })
        log.error({ config: file, problems: result.problems }, 'reload refused: the running config stays')
        return
      }
      const previous = runtime
      runtime = new Runtime(result.config, log, lifecycle, metrics, previous)
      previous.retire(runtime)
      startChecks()
      broadcast(configMessage())
      metrics.configReloads.inc({ result: 'success' })
      metrics.lastReloadSuccess.setToCurrentTime()
      log.info({ config: file, workers: live().length }, 'config reloaded')
    })
  })

  const shutdown = (signal: NodeJS.Signals): void => {
    if (lifecycle.draining) {
      log.warn({ signal }, 'second signal: exiting now')
      for (const s of slots) s.worker?.process.kill('SIGKILL')
      resolveDone(1)
      return
    }
    log.info({ signal, timeout_ms: runtime.config.shutdownTimeoutMs }, 'shutting down: workers drain their in-flight requests')
    void stopAll(0)
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)

  const code = await done
  await runtime.close()
  await closeListener(adminListener)
  log.info('stopped')
  return code
}
