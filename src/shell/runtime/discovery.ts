// DNS discovery at run time (docs/discovery.md): one lookup loop per `dns:` / `srv:` entry
// of the config, in the process that loads the config (the single process, or the primary
// of workers, which pushes each new set to the workers: one resolver loop per process
// group). Each loop looks its name up, counts the result (switchyard_dns_lookups_total),
// keeps the last good answer, and looks again at the time core/discovery.ts says (the TTL,
// clamped to [1s, resolve_interval]; backoff after a failure). A failed or empty lookup
// changes nothing: the last good set stays.
// An upstream's discovered servers are its entries' addresses together (`http://ip:port`,
// id `ip:port`; an address already listed as a `url:` server, or by an earlier entry, is
// skipped). When they change, `onChange` hears the upstream's whole new set; the Runtime
// (or the primary's HealthWatch) keeps the survivors, adds the joiners and drains the
// leavers, as a reload does.
// A reload builds a new Discovery from the previous one: an entry that stays (same upstream,
// name, port and resolver) keeps its last good answer, so a reload never empties a set.
// Log lines are written when the outcome changes (a failure after successes, a new error, a
// cut answer), not on each retry.
import type { Resolver } from 'node:dns/promises'
import type { Config, DiscoveryConfig, ServerConfig, UpstreamConfig } from '../../config/types.js'
import { addressId, diffSets, lookupErrorText, LOOKUP_RESULTS, MAX_RECORDS, nextLookupMs, takeAddresses, type FoundAddress } from '../../core/discovery.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { lookupEntry, makeResolver } from './dns-lookup.js'

/** Discovered servers by upstream name (every upstream with a dns: or srv: server, its set possibly empty). */
export type DiscoveredSets = ReadonlyMap<string, readonly ServerConfig[]>

export type SetListener = (upstream: string, servers: readonly ServerConfig[]) => void

/** How many ids a log line lists (a line must stay under 4 KiB with workers). */
const LOGGED_IDS = 10

const idsOf = (found: readonly FoundAddress[]): string[] => found.map((a) => addressId(a.address, a.port))
const few = (ids: readonly string[]): string[] => (ids.length <= LOGGED_IDS ? [...ids] : [...ids.slice(0, LOGGED_IDS), `... ${ids.length - LOGGED_IDS} more`])

class NameLoop {
  readonly key: string
  readonly upstream: UpstreamConfig
  readonly entry: DiscoveryConfig
  readonly log: Logger
  /** The last good answer; null until the first ok lookup. */
  found: FoundAddress[] | null = null
  /** Failed or empty lookups in a row. */
  failures = 0
  /** The last outcome logged ("ok", "failed ENOTFOUND"...) and the last cut logged: log lines only on a change. */
  outcome = ''
  dropped = 0
  timer: NodeJS.Timeout | null = null
  stopped = false

  constructor(upstream: UpstreamConfig, entry: DiscoveryConfig, log: Logger) {
    this.upstream = upstream
    this.entry = entry
    this.key = loopKey(upstream, entry)
    this.log = log.child(entry.kind === 'dns' ? { upstream: upstream.name, dns: `${entry.name}:${entry.port}` } : { upstream: upstream.name, srv: entry.name })
  }
}

function loopKey(u: UpstreamConfig, e: DiscoveryConfig): string {
  return `${u.name}\0${e.kind}\0${e.name}\0${e.port}\0${u.resolver ?? ''}`
}

export class Discovery {
  readonly #metrics: Metrics
  readonly #loops: NameLoop[] = []
  readonly #upstreams: UpstreamConfig[]
  readonly #resolvers = new Map<string, Resolver>()
  readonly #sets = new Map<string, readonly ServerConfig[]>()
  #onChange: SetListener = () => {}

  constructor(config: Config, log: Logger, metrics: Metrics, previous: Discovery | null = null) {
    this.#metrics = metrics
    this.#upstreams = config.upstreams.filter((u) => u.discovery.length > 0)
    const before = new Map(previous === null ? [] : previous.#loops.map((l) => [l.key, l]))
    for (const u of this.#upstreams) {
      for (const r of LOOKUP_RESULTS) metrics.dnsLookups.inc({ upstream: u.name, result: r }, 0) // rate() sees the first one
      for (const e of u.discovery) {
        const loop = new NameLoop(u, e, log)
        const kept = before.get(loop.key)
        if (kept !== undefined) {
          loop.found = kept.found
          loop.failures = kept.failures
          loop.outcome = kept.outcome
          loop.dropped = kept.dropped
        }
        this.#loops.push(loop)
      }
      this.#sets.set(u.name, this.#compose(u))
    }
  }

  /** Some upstream has a dns: or srv: server. */
  get active(): boolean {
    return this.#loops.length > 0
  }

  /** The discovered servers of each upstream now. */
  sets(): DiscoveredSets {
    return this.#sets
  }

  /**
   * Starts every loop; `onChange` hears each upstream whose set changes. Resolves once every
   * name has had its first lookup (whatever its result), so readiness can wait for it.
   */
  start(onChange: SetListener): Promise<void> {
    this.#onChange = onChange
    return Promise.all(this.#loops.map((l) => this.#lookup(l))).then(() => undefined)
  }

  stop(): void {
    for (const l of this.#loops) {
      l.stopped = true
      if (l.timer !== null) clearTimeout(l.timer)
    }
    for (const r of this.#resolvers.values()) r.cancel()
  }

  #resolver(server: string | null): Resolver {
    const key = server ?? ''
    let r = this.#resolvers.get(key)
    if (r === undefined) this.#resolvers.set(key, (r = makeResolver(server)))
    return r
  }

  async #lookup(loop: NameLoop): Promise<void> {
    if (loop.stopped) return
    const u = loop.upstream
    const answer = await lookupEntry(this.#resolver(u.resolver), loop.entry)
    if (loop.stopped) return
    this.#metrics.dnsLookups.inc({ upstream: u.name, result: answer.result })
    let ttl: number | null = null
    if (answer.result === 'ok') {
      ttl = answer.ttlSeconds
      loop.failures = 0
      const { taken, dropped } = takeAddresses(answer.found)
      if (dropped !== loop.dropped) {
        loop.dropped = dropped
        if (dropped > 0) loop.log.warn({ records: taken.length + dropped, kept: MAX_RECORDS }, `dns answer cut: only the first ${MAX_RECORDS} addresses are used`)
      }
      if (loop.outcome !== 'ok' && loop.outcome !== '') loop.log.info({ servers: taken.length }, 'dns lookup ok again')
      loop.outcome = 'ok'
      const before = loop.found
      loop.found = taken
      const { joined, left } = diffSets(idsOf(before ?? []), idsOf(taken))
      if (joined.length > 0 || left.length > 0) loop.log.info({ servers: taken.length, joined: few(joined), left: few(left) }, 'dns servers changed')
      this.#update(u)
    } else {
      loop.failures++
      const outcome = `${answer.result} ${answer.code ?? ''}`
      const fields = { result: answer.result, err: answer.code, reason: lookupErrorText(answer.code), servers: loop.found?.length ?? 0 }
      if (outcome !== loop.outcome) {
        if (loop.found === null) loop.log.error(fields, 'dns lookup failed: no servers from this name yet (requests it would serve get 503)')
        else loop.log.warn(fields, `dns lookup ${answer.result === 'empty' ? 'empty' : 'failed'}: keeping the last good servers`)
      } else loop.log.debug(fields, 'dns lookup failed again')
      loop.outcome = outcome
    }
    const delay = nextLookupMs(answer.result, ttl, u.resolveIntervalMs, loop.failures)
    loop.timer = setTimeout(() => void this.#lookup(loop), delay)
    loop.timer.unref()
  }

  /** Recomposes an upstream's set; tells the listener when it changed (servers, weights or caps). */
  #update(u: UpstreamConfig): void {
    const next = this.#compose(u)
    const key = (set: readonly ServerConfig[]): string => set.map((s) => `${s.id}/${s.weight}/${s.maxRequests}`).join(',')
    if (key(next) === key(this.#sets.get(u.name) ?? [])) return
    this.#sets.set(u.name, next)
    this.#onChange(u.name, next)
  }

  #compose(u: UpstreamConfig): ServerConfig[] {
    const seen = new Set(u.servers.map((s) => s.id))
    const out: ServerConfig[] = []
    for (const l of this.#loops) {
      if (l.upstream !== u) continue
      for (const a of l.found ?? []) {
        const id = addressId(a.address, a.port)
        if (seen.has(id)) continue
        seen.add(id)
        out.push({ url: `http://${id}`, id, weight: l.entry.kind === 'dns' ? l.entry.weight : a.weight, maxRequests: l.entry.maxRequests })
      }
    }
    return out
  }
}
