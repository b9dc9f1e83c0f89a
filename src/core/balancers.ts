// Balancers: one pure pick(available, tried) per algorithm.
//
// The shell keeps, per upstream, the list of servers that can take traffic right now
// (`available`, ordered by index) and, per request, the set of servers already tried
// (null on the first attempt, so a first pick never touches a Set). A balancer never
// returns a tried server and returns undefined when nothing is left.
//
// Per-server state lives in an Int32Array indexed by the server's `index` (its position
// in the upstream's server list): a pick is a loop over `available` with integer
// arithmetic, no Map lookup and no allocation. Weights are 1..1000 and the sum of all
// `current` values is always 0, so every value stays far inside int32.
//
// A balancer belongs to one compiled upstream: a config reload that changes the server
// list builds a new one (indices would not line up otherwise).

import type { BalanceName } from '../config/types.js'

export interface Pickable {
  readonly index: number
  readonly weight: number
  readonly inFlight: number
}

export interface Balancer<S extends Pickable> {
  pick(available: readonly S[], tried: ReadonlySet<S> | null): S | undefined
}

export function createBalancer<S extends Pickable>(name: BalanceName, serverCount: number): Balancer<S> {
  switch (name) {
    case 'round_robin':
      return new RoundRobin<S>(serverCount)
    case 'least_connections':
      return new LeastConnections<S>(serverCount)
  }
}

/**
 * Smooth weighted round robin, exactly nginx's ngx_http_upstream_get_peer(): every
 * candidate gains its weight, the one with the highest `current` wins (the first in
 * list order on a tie) and pays back the total. Weights 5,1,1 give a a b a c a a:
 * the heavy server's turns are spread out, not served in a burst.
 */
class RoundRobin<S extends Pickable> implements Balancer<S> {
  readonly #current: Int32Array

  constructor(serverCount: number) {
    this.#current = new Int32Array(serverCount)
  }

  pick(available: readonly S[], tried: ReadonlySet<S> | null): S | undefined {
    const current = this.#current
    let best: S | undefined
    let bestCurrent = 0
    let total = 0
    for (let i = 0; i < available.length; i++) {
      const s = available[i] as S
      if (tried !== null && tried.has(s)) continue
      const c = (current[s.index] as number) + s.weight
      current[s.index] = c
      total += s.weight
      if (best === undefined || c > bestCurrent) {
        best = s
        bestCurrent = c
      }
    }
    if (best !== undefined) current[best.index] = bestCurrent - total
    return best
  }
}

/**
 * Fewest in-flight requests per unit of weight, compared by cross-multiplying
 * (a.inFlight * b.weight < b.inFlight * a.weight: no division, no float rounding).
 * Ties are broken by smooth weighted round robin among the tied servers, as nginx's
 * least_conn does: equal servers take turns, and when every server is idle (all tie at
 * 0) the weights still give each server its share, like round_robin.
 */
class LeastConnections<S extends Pickable> implements Balancer<S> {
  readonly #current: Int32Array

  constructor(serverCount: number) {
    this.#current = new Int32Array(serverCount)
  }

  pick(available: readonly S[], tried: ReadonlySet<S> | null): S | undefined {
    // Pass 1: the least loaded candidate (first in order) and whether it is tied.
    let best: S | undefined
    let bestAt = 0
    let ties = 0
    for (let i = 0; i < available.length; i++) {
      const s = available[i] as S
      if (tried !== null && tried.has(s)) continue
      if (best === undefined) {
        best = s
        bestAt = i
        ties = 1
        continue
      }
      const lhs = s.inFlight * best.weight
      const rhs = best.inFlight * s.weight
      if (lhs < rhs) {
        best = s
        bestAt = i
        ties = 1
      } else if (lhs === rhs) {
        ties++
      }
    }
    if (best === undefined || ties === 1) return best

    // Pass 2 (only on a tie): smooth weighted round robin over the tied servers, which
    // all sit at or after bestAt.
    const current = this.#current
    const inFlight = best.inFlight
    const weight = best.weight
    let pick: S = best
    let pickCurrent = 0
    let total = 0
    let first = true
    for (let i = bestAt; i < available.length; i++) {
      const s = available[i] as S
      if (s.inFlight * weight !== inFlight * s.weight) continue
      if (tried !== null && tried.has(s)) continue
      const c = (current[s.index] as number) + s.weight
      current[s.index] = c
      total += s.weight
      if (first || c > pickCurrent) {
        pick = s
        pickCurrent = c
        first = false
      }
    }
    current[pick.index] = pickCurrent - total
    return pick
  }
}
