// The consistent hash ring behind `balance: hash` and `ip_hash` (ketama, as nginx's
// `hash ... consistent` and HAProxy's `hash-type consistent`): every server owns
// POINTS_PER_WEIGHT points per unit of weight on a 32-bit circle, placed by hashing
// "<server id>#<n>"; a key belongs to the first point at or after its hash. Removing one
// of N servers moves only the keys it owned (~1/N of them); a weight-2 server owns ~2x
// the keys of a weight-1 one (test/core/hash-ring.test.ts measures both).
//
// The ring is built once per config load from the configured servers, not from the ones
// that take traffic: a server that goes down keeps its points, its keys walk on to the
// next point's server while it is down, and come back to it when it recovers; the other
// servers' keys never move. Points are hashed from the server id (host:port), so every
// worker process and every restart builds the same ring.

import { hash32 } from './hash32.js'

/** ketama's 160 points per server: ~±5% spread of key shares between equal servers. */
export const POINTS_PER_WEIGHT = 160
/** The ring stays under 262,144 points (~3 MB, built in well under a second) whatever the weights. */
const MAX_POINTS = 1 << 18

export interface RingServer {
  readonly id: string
  readonly weight: number
}

export class HashRing {
  /** Point positions, ascending. */
  readonly points: Uint32Array
  /** owners[i]: the server index (its position in the list given) that owns points[i]. */
  readonly owners: Int32Array

  constructor(servers: readonly RingServer[]) {
    const totalWeight = servers.reduce((sum, s) => sum + s.weight, 0)
    const perWeight = Math.max(1, Math.min(POINTS_PER_WEIGHT, Math.floor(MAX_POINTS / Math.max(1, totalWeight))))
    const at: number[] = []
    const owner: number[] = []
    servers.forEach((s, index) => {
      for (let n = 0; n < s.weight * perWeight; n++) {
        at.push(hash32(`${s.id}#${n}`))
        owner.push(index)
      }
    })
    // Ties (two points at one position) go to the lower index, so the order is total.
    const order = at.map((_, i) => i).sort((a, b) => (at[a] as number) - (at[b] as number) || (owner[a] as number) - (owner[b] as number))
    this.points = Uint32Array.from(order, (i) => at[i] as number)
    this.owners = Int32Array.from(order, (i) => owner[i] as number)
  }

  /** The position of the first point at or after `key` (0 past the last: the circle wraps). */
  find(key: number): number {
    const points = this.points
    let lo = 0
    let hi = points.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((points[mid] as number) < key) lo = mid + 1
      else hi = mid
    }
    return lo === points.length ? 0 : lo
  }

  /** The server index that owns `key` when every server is up (tests and tools). */
  ownerOf(key: number): number {
    return this.points.length === 0 ? -1 : (this.owners[this.find(key)] as number)
  }
}
