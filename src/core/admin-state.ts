// The runtime API's part of a server's state (docs/operations.md#runtime-api): what an
// operator decided through the admin port, kept apart from what health checks decided, as
// Envoy keeps its admin-set health flags apart from the checkers'.
//
// - `mode`: `active` (the balancers may pick it when its health allows), `draining` (no new
//   request, sticky and hash keys included; in-flight requests and open WebSockets finish:
//   HAProxy's `drain`) or `disabled` (no new request and its open WebSockets are closed at
//   once; in-flight requests still finish: HAProxy's `maint`).
// - `weight`: an override of the configured weight (1..1000), or null for the config's.
//
// The table of every change made so far belongs to the process that owns the admin port
// (the single process, or the primary of workers); workers get it whole over IPC and apply
// it, so applying is idempotent and a worker started later catches up in one message. A
// reload keeps an entry while its server (upstream name + server id) stays in the config.
// Pure: no I/O, no clock.

export type AdminMode = 'active' | 'draining' | 'disabled'

export const ADMIN_MODES: readonly AdminMode[] = ['active', 'draining', 'disabled']

export interface AdminState {
  readonly mode: AdminMode
  /** A weight set at runtime; null: the config's. */
  readonly weight: number | null
}

/** One table entry as it travels over IPC: only servers that differ from the default are listed. */
export interface AdminEntry extends AdminState {
  readonly upstream: string
  readonly server: string
}

export const ACTIVE: AdminState = Object.freeze({ mode: 'active', weight: null })

/** What a request to the runtime API asks for. `weight: null` goes back to the config's weight. */
export type AdminAction =
  | { readonly kind: 'drain' }
  | { readonly kind: 'disable' }
  | { readonly kind: 'enable' }
  | { readonly kind: 'weight'; readonly weight: number | null }

export const WEIGHT_MIN = 1
export const WEIGHT_MAX = 1000

/** The state after `action`, and whether anything changed (an unchanged repeat is still a 200). */
export function applyAction(s: AdminState, action: AdminAction): { state: AdminState; changed: boolean } {
  let next: AdminState
  switch (action.kind) {
    case 'drain': next = { mode: 'draining', weight: s.weight }; break
    case 'disable': next = { mode: 'disabled', weight: s.weight }; break
    case 'enable': next = { mode: 'active', weight: s.weight }; break
    case 'weight': next = { mode: s.mode, weight: action.weight }
  }
  const changed = next.mode !== s.mode || next.weight !== s.weight
  return { state: changed ? (isDefault(next) ? ACTIVE : next) : s, changed }
}

export function isDefault(s: AdminState): boolean {
  return s.mode === 'active' && s.weight === null
}

/** May the balancers (and a sticky cookie, and a hash key) send a new request to it? */
export function admits(mode: AdminMode, healthTakesTraffic: boolean): boolean {
  return mode === 'active' && healthTakesTraffic
}

/**
 * The `state` of /status: a server an operator took out shows `draining` whatever its health
 * (the contract's four states stay the only ones; `admin_state` tells drain from disable).
 */
export function shownState<S extends string>(mode: AdminMode, healthState: S): S | 'draining' {
  return mode === 'active' ? healthState : 'draining'
}

/**
 * Drained: taken out (by the API, or by a reload that removed it) and nothing left to
 * finish in this process: no request in flight, no WebSocket open. A server in service is
 * never drained, even when idle: a deploy script waits for the signal only after asking.
 */
export function isDrained(out: boolean, inFlight: number, tunnels: number): boolean {
  return out && inFlight === 0 && tunnels === 0
}

/** The weight the balancers use: the override, else the configured one. */
export function effectiveWeight(s: AdminState, configWeight: number): number {
  return s.weight ?? configWeight
}

/** Looks up one server's state in a table (ACTIVE when absent). */
export function stateIn(table: ReadonlyMap<string, AdminState>, upstream: string, server: string): AdminState {
  return table.get(tableKey(upstream, server)) ?? ACTIVE
}

/** A table key; upstream names never hold a newline (the loader's name rule). */
export function tableKey(upstream: string, server: string): string {
  return `${upstream}\n${server}`
}

export function toEntries(table: ReadonlyMap<string, AdminState>): AdminEntry[] {
  return [...table].map(([key, s]) => {
    const at = key.indexOf('\n')
    return { upstream: key.slice(0, at), server: key.slice(at + 1), mode: s.mode, weight: s.weight }
  })
}

export function fromEntries(entries: readonly AdminEntry[]): Map<string, AdminState> {
  return new Map(entries.map((e) => [tableKey(e.upstream, e.server), { mode: e.mode, weight: e.weight }]))
}

/**
 * After a reload: the entries whose server is still in the config (by upstream name and
 * server id) and those dropped. `servers(upstream)` lists an upstream's server ids, or
 * undefined when the upstream is gone.
 */
export function keepFor(table: ReadonlyMap<string, AdminState>, servers: (upstream: string) => ReadonlySet<string> | undefined): { kept: Map<string, AdminState>; dropped: AdminEntry[] } {
  const kept = new Map<string, AdminState>()
  const dropped: AdminEntry[] = []
  for (const e of toEntries(table)) {
    if (servers(e.upstream)?.has(e.server) === true) kept.set(tableKey(e.upstream, e.server), { mode: e.mode, weight: e.weight })
    else dropped.push(e)
  }
  return { kept, dropped }
}

/** Across workers (the primary's /status): the most "out" mode wins while a change travels. */
export function mergeModes(a: AdminMode, b: AdminMode): AdminMode {
  return ADMIN_MODES.indexOf(b) > ADMIN_MODES.indexOf(a) ? b : a
}
