// Balancers: one pure pick(available, tried) per algorithm.
//
// The shell keeps, per upstream, the list of servers that can take traffic right now
// (`available`, ordered by index) and, per request, the set of servers already tried
// (null on the first attempt, so a first pick never touches a Set). A balancer never
// returns a tried server and returns undefined when nothing is left.
//
// Per-server state lives in an Int32Array indexed by the server's `index` (its position
// in the upstream's server list): a pick is a loop over `available` with integer
// arithmetic, no Map lookup and no allocation. Weights are 1..1000 (times 100 on an
// upstream with slow_start, see slow-start.ts) and the sum of all `current` values is
// always 0, so every value stays far inside int32.
//
// A balancer belongs to one compiled upstream: a config reload that changes the server
// list builds a new one (indices would not line up otherwise).
//
// `key` is the request's affinity key for the hash balancers (ip_hash, hash): an unsigned
// 32-bit hash the shell computes (hash32.ts), or NO_KEY when the request has none (the
// header or cookie is absent): then the request is balanced by round robin, as HAProxy
// does. The other balancers ignore it. A `full` member (at its max_requests) is skipped
// exactly like a tried one. `weight` may change between picks (slow start ramps it).

import type { BalanceName } from '../config/types.js'
import { HashRing, type RingServer } from './hash-ring.js'

export interface Pickable {
  readonly index: number
  readonly weight: number
  readonly inFlight: number
  /** At its max_requests cap: skipped like a tried server. */
  readonly full: boolean
}

export interface Balancer<S extends Pickable> {
  pick(available: readonly S[], tried: ReadonlySet<S> | null, key?: number): S | undefined
}

/** A request without an affinity key (see above). */
export const NO_KEY = -1

/** What some balancers need besides the server count: ids and weights (the ring), randomness (random_two). */
export interface BalancerSetup {
  /** By index: the server's id (ring points are hashed from it) and configured weight. */
  readonly servers: readonly RingServer[]
  /** Uniform in [0, 1), like Math.random (which the core may not call). */
  readonly random: () => number
}

export function createBalancer<S extends Pickable>(name: BalanceName, serverCount: number, setup?: BalancerSetup): Balancer<S> {
  switch (name) {
    case 'round_robin':
      return new RoundRobin<S>(serverCount)
    case 'least_connections':
      return new LeastConnections<S>(serverCount)
    case 'ip_hash':
    case 'hash':
      return new ConsistentHash<S>(serverCount, new HashRing(setup?.servers ?? Array.from({ length: serverCount }, (_, i) => ({ id: String(i), weight: 1 }))))
    case 'random_two':
      return new RandomTwo<S>(setup?.random ?? noRandom)
  }
}

function noRandom(): number {
  throw new Error('random_two needs BalancerSetup.random')
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
      if (s.full || (tried !== null && tried.has(s))) continue
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
      if (s.full || (tried !== null && tried.has(s))) continue
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
      if (s.full || (tried !== null && tried.has(s))) continue
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

/**
 * ip_hash and hash: the key's place on the consistent hash ring (hash-ring.ts), walking on
 * clockwise past points whose server is not available, tried or full, so a key whose
 * server is down goes to the next server of the ring, never to a 503 while one is up.
 * The weights are the configured ones (the ring's points): slow start does not apply,
 * since moving keys while a server ramps up would break the affinity it exists for.
 *
 * "Available" is known by server index through a byte per server, refreshed when the
 * shell hands in a new `available` array (it replaces the array on every health change,
 * never mutates it), so a pick is a binary search plus a short walk, without allocation.
 */
class ConsistentHash<S extends Pickable> implements Balancer<S> {
  readonly #ring: HashRing
  readonly #up: Uint8Array
  readonly #byIndex: (S | undefined)[]
  readonly #fallback: RoundRobin<S>
  #seen: readonly S[] | null = null

  constructor(serverCount: number, ring: HashRing) {
    this.#ring = ring
    this.#up = new Uint8Array(serverCount)
    this.#byIndex = new Array<S | undefined>(serverCount).fill(undefined)
    this.#fallback = new RoundRobin<S>(serverCount)
  }

  pick(available: readonly S[], tried: ReadonlySet<S> | null, key = NO_KEY): S | undefined {
    if (key < 0) return this.#fallback.pick(available, tried)
    if (available !== this.#seen) this.#refresh(available)
    const { points, owners } = this.#ring
    const n = points.length
    if (n === 0 || available.length === 0) return undefined
    let at = this.#ring.find(key)
    for (let step = 0; step < n; step++) {
      const index = owners[at] as number
      if (this.#up[index] === 1) {
        const s = this.#byIndex[index] as S
        if (!s.full && (tried === null || !tried.has(s))) return s
      }
      if (++at === n) at = 0
    }
    return undefined
  }

  #refresh(available: readonly S[]): void {
    this.#up.fill(0)
    this.#byIndex.fill(undefined)
    for (const s of available) {
      if (s.index >= this.#up.length) continue // not a server of this ring
      this.#up[s.index] = 1
      this.#byIndex[s.index] = s
    }
    this.#seen = available
  }
}

/**
 * The power of two choices (Envoy's LEAST_REQUEST, Caddy's random_choose 2): draw two
 * distinct candidates at random, each with a chance proportional to its weight, and take
 * the one with fewer in-flight requests per unit of weight (cross-multiplied, as in
 * least_connections); on a tie the first drawn. Nearly as good as least_connections at
 * avoiding a busy server, without its herd behaviour when many workers see the same
 * idle server. Idle servers share picks by weight. Three loops over `available`, no
 * allocation.
 */
class RandomTwo<S extends Pickable> implements Balancer<S> {
  readonly #random: () => number

  constructor(random: () => number) {
    this.#random = random
  }

  pick(available: readonly S[], tried: ReadonlySet<S> | null): S | undefined {
    let total = 0
    let count = 0
    let only: S | undefined
    for (let i = 0; i < available.length; i++) {
      const s = available[i] as S
      if (s.full || (tried !== null && tried.has(s))) continue
      total += s.weight
      count++
      only = s
    }
    if (count <= 1) return only
    const a = this.#draw(available, tried, null, this.#random() * total) as S
    const b = this.#draw(available, tried, a, this.#random() * (total - a.weight)) as S
    return b.inFlight * a.weight < a.inFlight * b.weight ? b : a
  }

  /** The candidate at `at` in the cumulative weights of the eligible servers (other than `skip`). */
  #draw(available: readonly S[], tried: ReadonlySet<S> | null, skip: S | null, at: number): S | undefined {
    let last: S | undefined
    for (let i = 0; i < available.length; i++) {
      const s = available[i] as S
      if (s === skip || s.full || (tried !== null && tried.has(s))) continue
      at -= s.weight
      last = s
      if (at < 0) return s
    }
    return last // rounding at the very end of the range
  }
}
