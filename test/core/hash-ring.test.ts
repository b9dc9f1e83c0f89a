// The consistent hash ring (src/core/hash-ring.ts), measured: removing 1 of N servers
// moves only that server's keys (~1/N of them), adding one moves ~1/(N+1) of the keys and
// all to the new server, and a weight-2 server gets ~2x the keys of a weight-1 one.
import { describe, expect, it } from 'vitest'
import { HashRing, type RingServer } from '../../src/core/hash-ring.js'
import { hash32, hash32Range } from '../../src/core/hash32.js'

const KEYS = Array.from({ length: 20_000 }, (_, i) => hash32(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`))
const PINNED = [444641715, 2377737407]
const ids = (n: number): RingServer[] => Array.from({ length: n }, (_, i) => ({ id: `app-${i}.internal:8000`, weight: 1 }))

/** Owner id of every key. */
function owners(servers: readonly RingServer[]): string[] {
  const ring = new HashRing(servers)
  return KEYS.map((k) => (servers[ring.ownerOf(k)] as RingServer).id)
}

describe('hash32', () => {
  it('is FNV-1a + fmix32: fixed values, unsigned, same for a range as for the slice', () => {
    expect(hash32('')).toBe(hash32(''))
    expect(hash32('10.0.0.1')).toBeGreaterThanOrEqual(0)
    expect(hash32('10.0.0.1')).not.toBe(hash32('10.0.0.2'))
    expect(hash32Range('xx10.0.0.1;', 2, 10)).toBe(hash32('10.0.0.1'))
    // Pinned values: every worker and every restart must compute the same ones.
    expect([hash32('a'), hash32('127.0.0.1')]).toEqual(PINNED)
  })
})

describe('HashRing', () => {
  it.each([3, 4, 5, 8, 10])('removing 1 of %i servers moves only its keys, ~1/N of them', (n) => {
    const all = ids(n)
    const before = owners(all)
    for (let gone = 0; gone < n; gone++) {
      const after = owners(all.filter((_, i) => i !== gone))
      let moved = 0
      for (let k = 0; k < KEYS.length; k++) {
        if (before[k] !== after[k]) {
          moved++
          expect(before[k]).toBe(all[gone]?.id) // a key that moved belonged to the removed server
        }
      }
      expect(Math.abs(moved / KEYS.length - 1 / n)).toBeLessThan(0.5 / n) // within ±50% of 1/N
    }
  })

  it.each([3, 5, 9])('adding a server to %i moves ~1/(N+1) of the keys, all to the new one', (n) => {
    const all = ids(n + 1)
    const before = owners(all.slice(0, n))
    const after = owners(all)
    let moved = 0
    for (let k = 0; k < KEYS.length; k++) {
      if (before[k] === after[k]) continue
      moved++
      expect(after[k]).toBe(all[n]?.id)
    }
    expect(Math.abs(moved / KEYS.length - 1 / (n + 1))).toBeLessThan(0.5 / (n + 1))
  })

  it.each<[number[], number]>([
    [[2, 1, 1], 0],
    [[1, 2, 1, 1], 1],
    [[1, 1, 1, 1, 2], 4],
  ])('weights %j: the weight-2 server gets ~2x the keys of a weight-1 server', (weights, heavy) => {
    const servers = weights.map((weight, i) => ({ id: `app-${i}.internal:8000`, weight }))
    const got = owners(servers)
    const counts = servers.map((s) => got.filter((o) => o === s.id).length)
    const light = counts.filter((_, i) => i !== heavy)
    const lightMean = light.reduce((a, b) => a + b, 0) / light.length
    const ratio = (counts[heavy] as number) / lightMean
    expect(ratio).toBeGreaterThan(1.7)
    expect(ratio).toBeLessThan(2.3)
  })

  it('does not depend on the order servers are listed in (keys follow the server id)', () => {
    const all = ids(5)
    const a = owners(all)
    const b = owners([...all].reverse())
    expect(b).toEqual(a)
  })

  it('stays bounded with large weights: at most 2^18 points, at least one per weight unit, sorted', () => {
    const ring = new HashRing(Array.from({ length: 50 }, (_, i) => ({ id: `s${i}:1`, weight: 1000 })))
    expect(ring.points.length).toBeLessThanOrEqual(1 << 18)
    expect(ring.points.length).toBeGreaterThanOrEqual(50_000)
    let sorted = true
    for (let i = 1; i < ring.points.length; i++) if ((ring.points[i - 1] as number) > (ring.points[i] as number)) sorted = false
    expect(sorted).toBe(true)
  })

  it('an empty ring owns nothing; a key past the last point wraps to the first', () => {
    expect(new HashRing([]).ownerOf(123)).toBe(-1)
    const ring = new HashRing(ids(2))
    expect(ring.find(0xffffffff)).toBe(ring.points[ring.points.length - 1] === 0xffffffff ? ring.points.length - 1 : 0)
    expect(ring.find(0)).toBe(0)
  })
})
