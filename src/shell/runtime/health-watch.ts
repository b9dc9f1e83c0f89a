// What the primary of a multi-worker daemon builds from a config: the active health of every
// server of an upstream with `health_check`, and the checks that feed it. Nothing else: the
// primary serves no traffic, so it has no Pools, routes, static sites or cache stores (a
// Redis cache would otherwise hold a connection in a process that never uses it). The
// workers get each probe result over IPC and apply it to their own Servers.
// A reload builds a new HealthWatch from the previous one: a server that stays (same
// upstream and id) keeps its health. DNS discovery (the primary's loops) changes an
// upstream's servers in place (setDiscovered): survivors keep their health, joiners are
// probed from then on, leavers are no longer probed.
import type { Config, HealthCheckConfig, ServerConfig, UpstreamConfig } from '../../config/types.js'
import { activeResult, initialHealth, stateOf, type Health } from '../../core/health.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { HealthChecker } from './health-checker.js'
import { transportOf } from './server-transport.js'
import type { DiscoveredSets } from './discovery.js'

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
  /** Checkers by upstream name. */
  #checkers = new Map<string, HealthChecker>()

  /** `discovered`: the servers DNS discovery has found for each upstream with dns:/srv: servers. */
  constructor(config: Config, log: Logger, metrics: Metrics, previous: HealthWatch | null = null, discovered: DiscoveredSets = new Map()) {
    this.config = config
    this.#log = log
    this.#metrics = metrics
    for (const u of config.upstreams) {
      if (u.healthCheck === null) continue
      const before = previous === null ? undefined : previous.#watched.get(u.name)
      this.#watched.set(u.name, this.#serversOf(u, discovered.get(u.name) ?? [], before))
    }
    if (previous !== null) this.#releaseRemoved(previous)
  }

  #serversOf(u: UpstreamConfig, discovered: readonly ServerConfig[], before: Map<string, WatchedServer> | undefined): Map<string, WatchedServer> {
    return new Map([...u.servers, ...discovered].map((s) => [s.id, before?.get(s.id) ?? new WatchedServer(s.id, s.url, s.socketPath ?? null)]))
  }

  /** DNS discovery found a new set for `upstream`: joiners are probed from now on, leavers no more. */
  setDiscovered(upstream: string, servers: readonly ServerConfig[]): void {
    const before = this.#watched.get(upstream)
    const u = this.config.upstreams.find((x) => x.name === upstream)
    if (before === undefined || u === undefined) return
    const next = this.#serversOf(u, servers, before)
    this.#watched.set(upstream, next)
    for (const id of before.keys()) if (!next.has(id)) this.#release(upstream, id)
    this.#checkers.get(upstream)?.setTargets([...next.values()])
  }

  /** Starts probing; `onResult` hears every result after it is applied here. */
  start(onResult: ProbeResult): void {
    for (const u of this.config.upstreams) {
      const servers = this.#watched.get(u.name)
      const cfg = u.healthCheck
      if (servers === undefined || cfg === null) continue
      const log = this.#log.child({ upstream: u.name })
      const checker = new HealthChecker([...servers.values()], cfg, (target, ok, detail) => {
        const server = this.#watched.get(u.name)?.get(target.id)
        if (server === undefined) return // left with a DNS change while probed
        this.#note(u.name, cfg, log, server, ok, detail)
        onResult(u.name, target.id, ok, detail)
      }, transportOf(u, cfg.timeoutMs))
      checker.start()
      this.#checkers.set(u.name, checker)
    }
  }

  /** Servers the checks hold down now: a new worker starts where the others are. */
  unhealthy(): [upstream: string, server: string][] {
    const out: [string, string][] = []
    for (const [upstream, servers] of this.#watched) for (const s of servers.values()) if (!s.health.active.healthy) out.push([upstream, s.id])
    return out
  }

  async stop(): Promise<void> {
    const checkers = [...this.#checkers.values()]
    this.#checkers = new Map()
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
        this.#release(upstream, id)
      }
    }
  }

  #release(upstream: string, id: string): void {
    this.#metrics.healthChecks.remove(upstream, id, 'success')
    this.#metrics.healthChecks.remove(upstream, id, 'failure')
  }
}
