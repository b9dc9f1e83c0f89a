// The balancer conformance table (DESIGN.md): every balancer passes the same properties
// (never an unavailable, tried or full server; retries walk distinct servers; weight
// shares), then the tables of each algorithm. The hash balancers get a different key per
// pick (a different client each time), as the shell gives them.
import { describe, expect, it } from 'vitest'
import type { BalanceName } from '../../src/config/types.js'
import { createBalancer, NO_KEY, type Balancer, type Pickable } from '../../src/core/balancers.js'
import { hash32 } from '../../src/core/hash32.js'
import { Rng } from '../helpers/prng.js'

interface S extends Pickable {
  readonly name: string
  readonly id: string
  inFlight: number
  full: boolean
}

function servers(weights: readonly number[]): S[] {
  return weights.map((weight, index) => ({ index, weight, inFlight: 0, full: false, name: String.fromCharCode(97 + index), id: `10.0.0.${index + 1}:8080` }))
}

function make(name: BalanceName, all: readonly S[], seed = 1): Balancer<S> {
  const rng = new Rng(seed)
  return createBalancer<S>(name, all.length, { servers: all.map((s) => ({ id: s.id, weight: s.weight })), random: () => rng.float() })
}

/** The i-th client's key: distinct clients for the hash balancers, ignored by the others. */
const key = (i: number): number => hash32(`client-${i}`)

function picks(name: BalanceName, weights: readonly number[], n: number): string {
  const all = servers(weights)
  const b = make(name, all)
  let out = ''
  for (let i = 0; i < n; i++) out += b.pick(all, null, key(i))?.name ?? '-'
  return out
}

const count = (s: string, c: string): number => s.split(c).length - 1

// The conformance table every balancer passes. `share`: how far (as a fraction of all
// picks) a server's share may be from its weight share over 20,000 picks: exact for the
// rotating ones, statistical for random_two, the ring's point spread for the hash ones.
const BALANCERS: [BalanceName, number][] = [
  ['round_robin', 0.0001],
  ['least_connections', 0.0001],
  ['random_two', 0.02],
  ['hash', 0.06],
  ['ip_hash', 0.06],
]

describe.each(BALANCERS)('conformance: %s', (name, share) => {
  it.each([
    [[1]],
    [[1, 1]],
    [[1, 1, 1]],
    [[3, 1, 1]],
    [[5, 1, 1]],
    [[2, 3]],
    [[1, 2, 3, 4]],
    [[1000, 1]],
  ])('all idle: each server gets its weight share of the picks (%j)', (weights) => {
    const sum = weights.reduce((a, b) => a + b, 0)
    const n = 20_000
    const seq = picks(name, weights, n)
    weights.forEach((w, i) => expect(Math.abs(count(seq, String.fromCharCode(97 + i)) / n - w / sum)).toBeLessThanOrEqual(share))
  })

  it('never returns a server that is not available', () => {
    const all = servers([5, 1, 1, 1])
    const b = make(name, all)
    const available = [all[1], all[3]] as S[]
    for (let i = 0; i < 200; i++) expect(available).toContain(b.pick(available, null, key(i)))
  })

  it('never returns a tried server', () => {
    const all = servers([5, 1, 1])
    const b = make(name, all)
    const tried = new Set([all[0] as S])
    for (let i = 0; i < 200; i++) {
      const p = b.pick(all, tried, key(i))
      expect(p).toBeDefined()
      expect(tried.has(p as S)).toBe(false)
    }
  })

  it('skips a full server (at max_requests) like a tried one', () => {
    const all = servers([5, 1, 1])
    ;(all[0] as S).full = true
    const b = make(name, all)
    for (let i = 0; i < 200; i++) expect(b.pick(all, null, key(i))).not.toBe(all[0])
    for (const s of all) s.full = true
    expect(b.pick(all, null, key(1))).toBeUndefined()
  })

  it('retries walk through distinct servers, then give up', () => {
    for (let k = 0; k < 50; k++) {
      const all = servers([1, 2, 3])
      const b = make(name, all, k + 1)
      const tried = new Set<S>()
      for (let i = 0; i < 3; i++) {
        const p = b.pick(all, tried.size === 0 ? null : tried, key(k)) as S
        expect(tried.has(p)).toBe(false)
        tried.add(p)
      }
      expect(b.pick(all, tried, key(k))).toBeUndefined()
    }
  })

  it('returns undefined for an empty available list or when all were tried', () => {
    const all = servers([1, 1])
    const b = make(name, all)
    expect(b.pick([], null, key(0))).toBeUndefined()
    expect(b.pick([], new Set(), key(0))).toBeUndefined()
    expect(b.pick(all, new Set(all), key(0))).toBeUndefined()
  })

  it('a single server is always picked', () => {
    const all = servers([7])
    const b = make(name, all)
    for (let i = 0; i < 20; i++) expect(b.pick(all, null, key(i))).toBe(all[0])
  })

  it('keeps working when the available set shrinks and grows', () => {
    const all = servers([1, 1, 1])
    const b = make(name, all)
    const two = [all[0], all[2]] as S[]
    let seq = ''
    for (let i = 0; i < 3000; i++) seq += (b.pick(two, null, key(i)) as S).name
    expect(count(seq, 'b')).toBe(0)
    expect(Math.abs(count(seq, 'a') / 3000 - 0.5)).toBeLessThanOrEqual(share + 0.05)
    seq = ''
    for (let i = 0; i < 3000; i++) seq += (b.pick(all, null, key(i)) as S).name
    for (const c of 'abc') expect(Math.abs(count(seq, c) / 3000 - 1 / 3)).toBeLessThanOrEqual(share + 0.05)
  })
})

// Round robin and least connections (idle) take turns: exact shares and no repeats.
describe.each<BalanceName>(['round_robin', 'least_connections'])('rotating: %s', (name) => {
  it.each([[[1]], [[1, 1, 1]], [[3, 1, 1]], [[5, 1, 1]], [[2, 3]], [[1, 2, 3, 4]], [[1000, 1]]])(
    'all idle: over N*sum(weights) picks each server gets exactly its weight (%j)', (weights) => {
      const sum = weights.reduce((a, b) => a + b, 0)
      for (const rounds of [1, 3]) {
        const seq = picks(name, weights, rounds * sum)
        weights.forEach((w, i) => expect(count(seq, String.fromCharCode(97 + i))).toBe(rounds * w))
      }
    })

  it.each([[[1, 1]], [[1, 1, 1]], [[4, 4, 4, 4]]])('equal weights alternate evenly (%j)', (weights) => {
    const seq = picks(name, weights, 40)
    for (let i = 1; i < seq.length; i++) expect(seq[i]).not.toBe(seq[i - 1])
  })
})

describe('round_robin (nginx smooth weighted round robin)', () => {
  it.each([
    [[5, 1, 1], 'aabacaa'],
    [[3, 1, 1], 'abaca'],
    [[1, 1, 1], 'abc'],
    [[2, 1], 'aba'],
    [[1, 2], 'bab'],
  ])('weights %j -> %s, repeating', (weights, cycle) => {
    expect(picks('round_robin', weights, cycle.length * 3)).toBe(cycle.repeat(3))
  })

  it('ignores inFlight', () => {
    const all = servers([1, 1])
    ;(all[0] as S).inFlight = 100
    const b = make('round_robin', all)
    expect([b.pick(all, null), b.pick(all, null)].map((s) => s?.name)).toEqual(['a', 'b'])
  })
})

describe('least_connections', () => {
  function lc(loads: readonly (readonly [weight: number, inFlight: number])[]) {
    const all = servers(loads.map(([weight]) => weight))
    loads.forEach(([, inFlight], i) => ((all[i] as S).inFlight = inFlight))
    return { all, b: make('least_connections', all) }
  }

  it.each<[[number, number][], string, string]>([
    [[[1, 5], [1, 2], [1, 9]], 'b', 'fewest in flight'],
    [[[1, 0], [1, 1]], 'a', 'idle beats busy'],
    [[[3, 5], [1, 2]], 'a', '5/3 < 2/1: weight counts'],
    [[[1, 2], [4, 5]], 'b', '5/4 < 2/1'],
    [[[1, 1], [4, 5]], 'a', '1/1 < 5/4'],
    [[[2, 4], [1, 3]], 'a', '4/2 < 3/1'],
  ])('[weight, inFlight] %j -> %s (%s)', (loads, expected) => {
    const { all, b } = lc(loads)
    expect(b.pick(all, null)?.name).toBe(expected)
  })

  it('inFlight 2 weight 2 ties inFlight 1 weight 1: both take turns', () => {
    const { all, b } = lc([[2, 2], [1, 1], [1, 5]])
    const seq = Array.from({ length: 6 }, () => b.pick(all, null)?.name).join('')
    expect(seq).not.toContain('c')
    // Tied, the weights share the picks 2:1 (smooth weighted round robin among ties).
    expect(count(seq, 'a')).toBe(4)
    expect(count(seq, 'b')).toBe(2)
  })

  it('ties rotate between equal servers', () => {
    const { all, b } = lc([[1, 3], [1, 1], [1, 1], [1, 1]])
    const seq = Array.from({ length: 9 }, () => b.pick(all, null)?.name).join('')
    expect(seq).toBe('bcdbcdbcd')
  })

  it('follows the load as it changes', () => {
    const { all, b } = lc([[1, 0], [1, 0], [1, 0]])
    // Simulate requests that never finish: each pick adds one in flight.
    let seq = ''
    for (let i = 0; i < 9; i++) {
      const s = b.pick(all, null) as S
      s.inFlight++
      seq += s.name
    }
    expect(all.map((s) => s.inFlight)).toEqual([3, 3, 3])
    for (let i = 0; i < 3; i++) expect(new Set(seq.slice(i * 3, i * 3 + 3)).size).toBe(3)
    // One server finishes its requests: it gets the next ones.
    ;(all[1] as S).inFlight = 0
    expect(b.pick(all, null)).toBe(all[1])
  })

  it('skips the least loaded when it was tried', () => {
    const { all, b } = lc([[1, 0], [1, 4], [1, 2]])
    expect(b.pick(all, new Set([all[0] as S]))).toBe(all[2])
  })
})

describe.each<BalanceName>(['hash', 'ip_hash'])('%s (consistent hash ring)', (name) => {
  it('the same key always goes to the same server, whatever the load', () => {
    const all = servers([1, 1, 1, 1])
    const b = make(name, all)
    for (let i = 0; i < 100; i++) {
      const first = b.pick(all, null, key(i)) as S
      first.inFlight += 50
      expect(b.pick(all, null, key(i))).toBe(first)
    }
  })

  it('two balancers built from the same servers agree (every worker, every restart)', () => {
    const all = servers([1, 2, 1])
    const [b1, b2] = [make(name, all, 1), make(name, all, 2)]
    for (let i = 0; i < 500; i++) expect(b1.pick(all, null, key(i))).toBe(b2.pick(all, null, key(i)))
  })

  it('a key whose server is down goes to another server, and no other key moves', () => {
    const all = servers([1, 1, 1, 1, 1])
    const b = make(name, all)
    const before = Array.from({ length: 2000 }, (_, i) => b.pick(all, null, key(i)) as S)
    const down = all[2] as S
    const up = all.filter((s) => s !== down)
    for (let i = 0; i < 2000; i++) {
      const p = b.pick(up, null, key(i)) as S
      expect(p).toBeDefined()
      expect(p).not.toBe(down)
      if (before[i] !== down) expect(p).toBe(before[i])
    }
    // Back up: every key is where it was.
    for (let i = 0; i < 2000; i++) expect(b.pick(all, null, key(i))).toBe(before[i])
  })

  it('only one server up: every key goes to it (never nothing while one is up)', () => {
    const all = servers([1, 1, 1])
    const b = make(name, all)
    for (let i = 0; i < 100; i++) expect(b.pick([all[1] as S], null, key(i))).toBe(all[1])
  })

  it('a retry goes on along the ring: the next server is the same for every retry of a key', () => {
    const all = servers([1, 1, 1, 1])
    const b = make(name, all)
    for (let i = 0; i < 100; i++) {
      const first = b.pick(all, null, key(i)) as S
      const second = b.pick(all, new Set([first]), key(i)) as S
      expect(second).not.toBe(first)
      expect(b.pick(all.filter((s) => s !== first), null, key(i))).toBe(second)
    }
  })

  it('a request without a key (NO_KEY: header or cookie absent) is balanced by round robin', () => {
    const all = servers([1, 1, 1])
    const b = make(name, all)
    const seq = Array.from({ length: 9 }, () => (b.pick(all, null, NO_KEY) as S).name).join('')
    expect(seq).toBe('abcabcabc')
    expect((b.pick(all, null) as S).name).toBe('a') // no key argument at all
  })
})

describe('random_two (power of two choices)', () => {
  it('of two servers, always the one with fewer in flight per unit of weight', () => {
    const all = servers([1, 1])
    ;(all[0] as S).inFlight = 5
    const b = make('random_two', all)
    for (let i = 0; i < 100; i++) expect(b.pick(all, null)).toBe(all[1])
    ;(all[1] as S).inFlight = 9
    for (let i = 0; i < 100; i++) expect(b.pick(all, null)).toBe(all[0])
  })

  it('weight counts: 6 in flight on weight 3 is less loaded than 3 on weight 1', () => {
    const all = servers([3, 1])
    ;(all[0] as S).inFlight = 6
    ;(all[1] as S).inFlight = 3
    const b = make('random_two', all)
    for (let i = 0; i < 50; i++) expect(b.pick(all, null)).toBe(all[0])
  })

  it('the most loaded of several servers is never picked (it always loses its pair)', () => {
    const all = servers([1, 1, 1, 1])
    ;(all[2] as S).inFlight = 100
    const b = make('random_two', all)
    for (let i = 0; i < 1000; i++) expect(b.pick(all, null)).not.toBe(all[2])
  })

  it('an idle server among busy ones gets about the picks of being drawn (1 - 2/3 * 1/2 = 2/3 of them)', () => {
    const all = servers([1, 1, 1])
    ;(all[1] as S).inFlight = 10
    ;(all[2] as S).inFlight = 10
    const b = make('random_two', all)
    let hits = 0
    for (let i = 0; i < 6000; i++) if (b.pick(all, null) === all[0]) hits++
    expect(Math.abs(hits / 6000 - 2 / 3)).toBeLessThan(0.03)
  })
})
