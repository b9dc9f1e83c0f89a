// workers > 1: the primary process, in the manner of gunicorn's master. It forks the
// workers (node:cluster shares the listening sockets) and restarts one that dies, with
// backoff; it runs the active health checks once per server (health-watch.ts: no Pools,
// caches or static sites here) and broadcasts each result; it runs the DNS discovery loops
// (discovery.ts) and sends each new set to the workers (and the whole picture to a worker
// that has just become ready, which may have missed one); it serves the admin port with
// one aggregated /metrics (prom-client's AggregatorRegistry) and a /status merged from the
// workers'. Control (control.ts) handles the signals: a reload is validated here and sent
// to every worker; a drain asks every worker to drain, then the primary exits.
// With tls.acme the primary runs the one ACME manager: it sends each certificate to every
// worker (and the current ones with the config, to a worker that starts) and hands each
// HTTP-01 token to every worker, waiting for their acknowledgements before validation.
// Ready means every worker has bound every listener.
import cluster, { type Worker } from 'node:cluster'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { AggregatorRegistry } from 'prom-client'
import type { Config, ServerConfig } from '../../config/types.js'
import { mergeStatus, type StatusDoc } from '../../core/status.js'
import { HealthWatch } from '../runtime/health-watch.js'
import { Discovery, type DiscoveredSets, type SetListener } from '../runtime/discovery.js'
import type { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { adminHandler } from './admin.js'
import { bind, closeListener } from './data-plane.js'
import { adminListenerConfig } from './listeners.js'
import { isFromWorker, type FromWorker, type ToWorker } from './ipc.js'
import type { Control } from './control.js'
import { ServerAdmin } from './server-admin.js'
import { startAcme } from './acme-start.js'
import { MIGRATE_SYSCTL, reusePortNote } from '../../core/reuse-port.js'

export function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers
}

const RESTART_MIN_MS = 250
const RESTART_MAX_MS = 30_000
/** A worker that lived this long resets the backoff of its slot. */
const STABLE_MS = 30_000
/** How long /status and a purge wait for the workers' answers. */
const ANSWER_TIMEOUT_MS = 2_000

interface Slot {
  worker: Worker | null
  started: number
  failures: number
  ready: boolean
}

export async function runPrimary(config: Config, log: Logger, metrics: Metrics, control: Control): Promise<void> {
  const count = workerCount(config)
  const lifecycle = control.lifecycle
  let discovery = new Discovery(config, log, metrics)
  let watch = new HealthWatch(config, log, metrics, null, discovery.sets())
  const aggregator = new AggregatorRegistry()
  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: null, started: 0, failures: 0, ready: false }))

  const live = (): Worker[] => slots.flatMap((s) => (s.worker !== null && s.ready ? [s.worker] : []))
  const broadcast = (m: ToWorker): void => {
    for (const w of live()) w.send(m)
  }
  // The runtime API's table lives here: every worker gets it whole, a restarted one with its config.
  const serverAdmin = new ServerAdmin(log)
  let acme: Awaited<ReturnType<typeof startAcme>> = null
  /** HTTP-01 tokens of ACME orders under way, for a worker that starts meanwhile. */
  const challenges = new Map<string, string>()
  const listed = (sets: DiscoveredSets): [string, ServerConfig[]][] => [...sets].map(([u, servers]) => [u, [...servers]])
  const configMessage = (): ToWorker => ({
    type: 'switchyard:config', config: watch.config, unhealthy: watch.unhealthy(), admin: serverAdmin.entries(), certificates: acme?.current() ?? [], challenges: [...challenges],
    discovered: listed(discovery.sets()),
  })
  const onSet: SetListener = (upstream, servers) => {
    watch.setDiscovered(upstream, servers)
    broadcast({ type: 'switchyard:servers', discovered: [[upstream, [...servers]]] })
  }
  const firstLookups = discovery.start(onSet)
  const startChecks = (): void => watch.start((upstream, server, ok, detail) => {
    broadcast({ type: 'switchyard:probe', upstream, server, ok, detail })
  })

  // Requests to every live worker (/status, purge, runtime changes), answered by id or given up after a timeout.
  let nextId = 0
  const pending = new Map<number, (answer: StatusDoc | null) => void>()
  const askAll = (make: (id: number) => ToWorker): Promise<(StatusDoc | null)[]> => Promise.all(live().map((w) => new Promise<StatusDoc | null>((resolve) => {
    const id = ++nextId
    const timer = setTimeout(() => { pending.delete(id); resolve(null) }, ANSWER_TIMEOUT_MS)
    pending.set(id, (answer) => { clearTimeout(timer); resolve(answer) })
    w.send(make(id))
  })))
  const answered = (id: number, answer: StatusDoc | null): void => {
    pending.get(id)?.(answer)
    pending.delete(id)
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
        // A runtime change made while it started went only to the live workers: catch it up.
        worker.send({ type: 'switchyard:admin', id: 0, admin: serverAdmin.entries() } satisfies ToWorker)
        // A set found since its config message was sent did not reach it (broadcasts go to ready workers).
        if (discovery.active) worker.send({ type: 'switchyard:servers', discovered: listed(discovery.sets()) } satisfies ToWorker)
        log.info({ worker: index, worker_pid: worker.process.pid }, 'worker ready')
        if (slots.every((s) => s.ready)) resolveReady()
      } else if (msg.type === 'switchyard:purged' || msg.type === 'switchyard:admin-applied' || msg.type === 'switchyard:challenge') answered(msg.id, null)
      else if (msg.type === 'switchyard:status') answered(msg.id, msg.status)
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

  const stopAll = async (code: number): Promise<number> => {
    lifecycle.draining = true
    exitCode = code
    for (const s of slots) s.worker?.send({ type: 'switchyard:shutdown' } satisfies ToWorker)
    if (slots.every((s) => s.worker === null)) resolveDone(code)
    const backstop = setTimeout(() => {
      log.warn('workers still running past shutdown_timeout: killing them')
      for (const s of slots) s.worker?.process.kill('SIGKILL')
    }, watch.config.shutdownTimeoutMs + 5_000)
    backstop.unref()
    discovery.stop()
    const result = await done
    clearTimeout(backstop)
    await watch.stop()
    return result
  }

  const admin = adminHandler({
    lifecycle,
    status: async () => {
      const answers = await askAll((id) => ({ type: 'switchyard:status', id }))
      const docs = answers.filter((d): d is StatusDoc => d !== null)
      // A worker restarting or silent: its in-flight requests are unknown, so nothing shows drained.
      return mergeStatus(docs, docs.length === slots.length)
    },
    token: () => watch.config.admin.token,
    // Answered once every live worker has applied it: a request that follows sees it everywhere.
    change: async (upstream, server, action, client) => {
      const answer = serverAdmin.change(watch.config, upstream, server, action, client)
      if (answer.changed) {
        const admin = serverAdmin.entries()
        await askAll((id) => ({ type: 'switchyard:admin', id, admin }))
      }
      return answer
    },
    // Every live worker drops it from its caches (memory stores are per worker).
    purge: async (url) => { await askAll((id) => ({ type: 'switchyard:purge', id, url: url === null ? null : url.href })) },
    metrics: async () => {
      // The primary's own series (reloads, health checks) and the workers' aggregated ones share no name.
      const [own, workers] = await Promise.all([metrics.registry.metrics(), aggregator.clusterMetrics()])
      return { contentType: aggregator.contentType, text: `${own}${workers}` }
    },
  })
  const adminListener = await bind('admin', adminListenerConfig(config.admin), admin, log)
  if (adminListener === null) {
    discovery.stop()
    return control.failed(1)
  }

  // Stored ACME certificates are loaded before the workers start: they get them with the config.
  acme = await startAcme(config, log, metrics, {
    install: (certificate) => broadcast({ type: 'switchyard:certificate', certificate }),
    challenge: async (token, keyAuthorization) => {
      if (keyAuthorization === null) challenges.delete(token)
      else challenges.set(token, keyAuthorization)
      await askAll((id) => ({ type: 'switchyard:challenge', id, token, keyAuthorization }))
    },
  })
  noteReusePort(config, count, log)
  cluster.setupPrimary({ silent: false })
  slots.forEach((slot, i) => fork(slot, i))
  const first = await Promise.race([allReady.then(() => 0), done])
  if (first !== 0) {
    discovery.stop()
    await closeListener(adminListener)
    return control.failed(first)
  }
  startingUp = false
  startChecks()
  acme?.run()
  await firstLookups
  control.ready({
    get config() { return watch.config },
    apply(next) {
      // Names that stay keep their last good answer through the reload.
      const previousDiscovery = discovery
      discovery = new Discovery(next, log, metrics, previousDiscovery)
      previousDiscovery.stop()
      const previous = watch
      serverAdmin.keep(next)
      watch = new HealthWatch(next, log, metrics, previous, discovery.sets())
      void previous.stop()
      startChecks()
      broadcast(configMessage())
      void discovery.start(onSet)
    },
    async drain() {
      acme?.stop()
      await stopAll(0)
      // The admin port closes last, so /readyz answers 503 for the whole drain.
      await closeListener(adminListener)
    },
    kill() {
      for (const s of slots) s.worker?.process.kill('SIGKILL')
    },
  }, { workers: count })
}

/** reuse_port: whether a worker that exits hands its queued connections over (core/reuse-port.ts). */
function noteReusePort(config: Config, workers: number, log: Logger): void {
  const listeners = config.listeners.filter((l) => l.reusePort).map((l) => l.name)
  let migrate: string | null = null
  try {
    migrate = readFileSync(`/proc/sys/${MIGRATE_SYSCTL.replaceAll('.', '/')}`, 'utf8')
  } catch {
    // No such sysctl here: an older kernel, or not Linux.
  }
  const note = reusePortNote(listeners, workers, migrate)
  if (note !== null) log[note.level]({ listeners, sysctl: MIGRATE_SYSCTL, value: migrate?.trim() ?? null }, note.msg)
}
