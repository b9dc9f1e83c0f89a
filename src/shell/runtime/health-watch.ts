// What the primary of a multi-worker daemon builds from a config: the active health of every
// server of an upstream with `health_check`, and the checks that feed it. Nothing else: the
// primary serves no traffic, so it has no Pools, routes, static sites or cache stores (a
// Redis cache would otherwise hold a connection in a process that never uses it). The
// workers get each probe result over IPC and apply it to their own Servers.
// A reload builds a new HealthWatch from the previous one: a server that stays (same
// upstream and id) keeps its health.
import type { Config, HealthCheckConfig } from '../../config/types.js'
import { activeResult, initialHealth, stateOf, type Health } from '../../core/health.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { HealthChecker } from './health-checker.js'
import { transportOf } from './server-transport.js'

type ProbeResult = (upstream: string, server: string, ok: boolean, detail: string) => void

class WatchedServer {
  readonly id: string
  readonly url: string
  readonly socketPath: string | null
  health: Health = initialHealth

  constructor(id: string, url: string, socketPath: string | null) {
    this.id = id
    this.url = url
    this.socketPath = socketPath
  }
}

export class HealthWatch {
  readonly config: Config
  readonly #log: Logger
  readonly #metrics: Metrics
  /** By upstream name, then server id: only upstreams with health_check. */
  readonly #watched = new Map<string, Map<string, WatchedServer>>()
  #checkers: HealthChecker[] = []

  constructor(config: Config, log: Logger, metrics: Metrics, previous: HealthWatch | null = null) {
    this.config = config
    this.#log = log
    this.#metrics = metrics
    for (const u of config.upstreams) {
      if (u.healthCheck === null) continue
      const before = previous === null ? undefined : previous.#watched.get(u.name)
      this.#watched.set(u.name, new Map(u.servers.map((s) => [s.id, before?.get(s.id) ?? new WatchedServer(s.id, s.url, s.socketPath ?? null)])))
    }
    if (previous !== null) this.#releaseRemoved(previous)
  }

  /** Starts probing; `onResult` hears every result after it is applied here. */
  start(onResult: ProbeResult): void {
    for (const u of this.config.upstreams) {
      const servers = this.#watched.get(u.name)
      const cfg = u.healthCheck
      if (servers === undefined || cfg === null) continue
      const log = this.#log.child({ upstream: u.name })
      const checker = new HealthChecker([...servers.values()], cfg, (target, ok, detail) => {
        this.#note(u.name, cfg, log, servers.get(target.id) as WatchedServer, ok, detail)
        onResult(u.name, target.id, ok, detail)
      }, transportOf(u, cfg.timeoutMs))
      checker.start()
      this.#checkers.push(checker)
    }
  }

  /** Servers the checks hold down now: a new worker starts where the others are. */
  unhealthy(): [upstream: string, server: string][] {
    const out: [string, string][] = []
    for (const [upstream, servers] of this.#watched) for (const s of servers.values()) if (!s.health.active.healthy) out.push([upstream, s.id])
    return out
  }

  async stop(): Promise<void> {
    const checkers = this.#checkers
    this.#checkers = []
    await Promise.all(checkers.map((c) => c.stop()))
  }

  #note(upstream: string, cfg: HealthCheckConfig, log: Logger, server: WatchedServer, ok: boolean, detail: string): void {
    this.#metrics.healthChecks.inc({ upstream, server: server.id, result: ok ? 'success' : 'failure' })
    const from = stateOf(server.health)
    const step = activeResult(server.health, ok, detail, cfg)
    server.health = step.health
    if (step.changed) log.warn({ server: server.id, from, to: stateOf(step.health), reason: step.reason }, 'server state changed')
  }

  /** The probe series of servers the new config no longer checks. */
  #releaseRemoved(previous: HealthWatch): void {
    for (const [upstream, servers] of previous.#watched) {
      for (const id of servers.keys()) {
        if (this.#watched.get(upstream)?.has(id) === true) continue
        this.#metrics.healthChecks.remove(upstream, id, 'success')
        this.#metrics.healthChecks.remove(upstream, id, 'failure')
      }
    }
  }
}
