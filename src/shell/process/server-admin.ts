// The runtime API's table of changes (core/admin-state.ts), held by the process that owns
// the admin port: the single process, or the primary of workers (which has no Servers and
// sends the table to every worker). It checks a change against the running config (404 for
// an unknown upstream or server), logs who asked for what, and after a reload keeps only
// the entries whose server is still in the config. Each change makes a new Map, so a table
// handed out is never mutated afterwards.
import type { Config } from '../../config/types.js'
import {
  applyAction, effectiveWeight, isDefault, keepFor, stateIn, tableKey, toEntries,
  type AdminAction, type AdminEntry, type AdminState,
} from '../../core/admin-state.js'
import type { Logger } from '../observe/log.js'

export interface ChangeAnswer {
  readonly status: 200 | 404
  readonly body: Record<string, unknown>
  /** The table changed: it must reach every process. */
  readonly changed: boolean
}

export class ServerAdmin {
  #table: ReadonlyMap<string, AdminState> = new Map()
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  get table(): ReadonlyMap<string, AdminState> {
    return this.#table
  }

  entries(): AdminEntry[] {
    return toEntries(this.#table)
  }

  /** One runtime API call, from `client` (its address, for the log). */
  change(config: Config, upstream: string, server: string, action: AdminAction, client: string): ChangeAnswer {
    const u = config.upstreams.find((x) => x.name === upstream)
    if (u === undefined) return { status: 404, body: { error: `unknown upstream "${upstream}"` }, changed: false }
    const s = u.servers.find((x) => x.id === server)
    if (s === undefined) {
      const ids = u.servers.slice(0, 5).map((x) => x.id).join(', ')
      return { status: 404, body: { error: `unknown server "${server}" in upstream "${upstream}" (its servers: ${ids}${u.servers.length > 5 ? ', ...' : ''})` }, changed: false }
    }
    const before = stateIn(this.#table, upstream, server)
    const { state, changed } = applyAction(before, action)
    if (changed) {
      const next = new Map(this.#table)
      if (isDefault(state)) next.delete(tableKey(upstream, server))
      else next.set(tableKey(upstream, server), state)
      this.#table = next
    }
    const weight = effectiveWeight(state, s.weight)
    this.#log.info({
      client, upstream, server, action: action.kind, changed,
      admin_state: state.mode, from_admin_state: before.mode, weight, from_weight: effectiveWeight(before, s.weight),
    }, changed ? 'runtime change' : 'runtime change: already so')
    return { status: 200, body: { upstream, server, admin_state: state.mode, weight, config_weight: s.weight, changed }, changed }
  }

  /** After a reload to `config`: entries of servers no longer in it are dropped (and logged). */
  keep(config: Config): void {
    const ids = new Map(config.upstreams.map((u) => [u.name, new Set(u.servers.map((s) => s.id))]))
    const { kept, dropped } = keepFor(this.#table, (u) => ids.get(u))
    if (dropped.length === 0) return
    for (const e of dropped) {
      this.#log.info({ upstream: e.upstream, server: e.server, admin_state: e.mode, weight: e.weight }, 'runtime change dropped: the server left the config')
    }
    this.#table = kept
  }
}
