import { describe, expect, it } from 'vitest'
import type { BalanceName } from '../../src/config/types.js'
import { createBalancer, type Pickable } from '../../src/core/balancers.js'

interface S extends Pickable {
  readonly name: string
  inFlight: number
}

function servers(weights: readonly number[]): S[] {
  return weights.map((weight, index) => ({ index, weight, inFlight: 0, name: String.fromCharCode(97 + index) }))
}

function picks(name: BalanceName, weights: readonly number[], n: number): string {
  const all = servers(weights)
  const b = createBalancer<S>(name, all.length)
  let out = ''
  for (let i = 0; i < n; i++) out += b.pick(all, null)?.name ?? '-'
  return out
}

const count = (s: string, c: string): number => s.split(c).length - 1

// The conformance table every balancer passes (DESIGN.md).
const BALANCERS: BalanceName[] = ['round_robin', 'least_connections']

describe.each(BALANCERS)('conformance: %s', (name) => {
  it.each([
    [[1]],
    [[1, 1]],
    [[1, 1, 1]],
    [[3, 1, 1]],
    [[5, 1, 1]],
    [[2, 3]],
    [[1, 2, 3, 4]],
    [[1000, 1]],
  ])('all idle: over N*sum(weights) picks each server gets its weight share (%j)', (weights) => {
    const sum = weights.reduce((a, b) => a + b, 0)
    for (const rounds of [1, 3]) {
      const seq = picks(name, weights, rounds * sum)
      weights.forEach((w, i) => expect(count(seq, String.fromCharCode(97 + i))).toBe(rounds * w))
    }
  })

  it('never returns a server that is not available', () => {
    const all = servers([5, 1, 1, 1])
    const b = createBalancer<S>(name, all.length)
    const available = [all[1], all[3]] as S[]
    for (let i = 0; i < 50; i++) expect(available).toContain(b.pick(available, null))
  })

  it('never returns a tried server', () => {
    const all = servers([5, 1, 1])
    const b = createBalancer<S>(name, all.length)
    const tried = new Set([all[0] as S])
    for (let i = 0; i < 50; i++) {
      const p = b.pick(all, tried)
      expect(p).toBeDefined()
      expect(tried.has(p as S)).toBe(false)
    }
  })

  it('retries walk through distinct servers, then give up', () => {
    const all = servers([1, 2, 3])
    const b = createBalancer<S>(name, all.length)
    const tried = new Set<S>()
    for (let i = 0; i < 3; i++) {
      const p = b.pick(all, tried.size === 0 ? null : tried) as S
      expect(tried.has(p)).toBe(false)
      tried.add(p)
    }
    expect(b.pick(all, tried)).toBeUndefined()
  })

  it('returns undefined for an empty available list or when all were tried', () => {
    const all = servers([1, 1])
    const b = createBalancer<S>(name, all.length)
    expect(b.pick([], null)).toBeUndefined()
    expect(b.pick([], new Set())).toBeUndefined()
    expect(b.pick(all, new Set(all))).toBeUndefined()
  })

  it('a single server is always picked', () => {
    const all = servers([7])
    const b = createBalancer<S>(name, 1)
    for (let i = 0; i < 20; i++) expect(b.pick(all, null)).toBe(all[0])
  })

  it.each([[[1, 1]], [[1, 1, 1]], [[4, 4, 4, 4]]])('equal weights alternate evenly (%j)', (weights) => {
    const seq = picks(name, weights, 40)
    for (let i = 1; i < seq.length; i++) expect(seq[i]).not.toBe(seq[i - 1])
  })

  it('keeps working when the available set shrinks and grows', () => {
    const all = servers([1, 1, 1])
    const b = createBalancer<S>(name, all.length)
    const two = [all[0], all[2]] as S[]
    let seq = ''
    for (let i = 0; i < 10; i++) seq += (b.pick(two, null) as S).name
    expect(count(seq, 'a')).toBe(5)
    expect(count(seq, 'c')).toBe(5)
    seq = ''
    for (let i = 0; i < 30; i++) seq += (b.pick(all, null) as S).name
    expect([count(seq, 'a'), count(seq, 'b'), count(seq, 'c')]).toEqual([10, 10, 10])
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
    const b = createBalancer<S>('round_robin', 2)
    expect([b.pick(all, null), b.pick(all, null)].map((s) => s?.name)).toEqual(['a', 'b'])
  })
})

describe('least_connections', () => {
  function lc(loads: readonly (readonly [weight: number, inFlight: number])[]) {
    const all = loads.map(([weight, inFlight], index): S => ({ index, weight, inFlight, name: String.fromCharCode(97 + index) }))
    return { all, b: createBalancer<S>('least_connections', all.length) }
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
