// Slow start (src/core/slow-start.ts) with a fake clock: the weight a joining server ramps
// through, and the share of picks it gets over time with each balancer that reads weights
// (round_robin, least_connections, random_two). The hash balancers keep their ring (see
// docs/affinity.md): their shares do not ramp.
import { describe, expect, it } from 'vitest'
import type { BalanceName } from '../../src/config/types.js'
import { createBalancer, type Pickable } from '../../src/core/balancers.js'
import { rampTickMs, rampWeight, SLOW_START_SCALE } from '../../src/core/slow-start.js'
import { Rng } from '../helpers/prng.js'

describe('rampWeight', () => {
  it.each<[number, number, number, number]>([
    // weight, elapsed ms, duration ms, weight the balancer sees
    [1, 0, 30_000, 1],
    [1, 300, 30_000, 1],
    [1, 3_000, 30_000, 10],
    [1, 15_000, 30_000, 50],
    [1, 29_999, 30_000, 99],
    [1, 30_000, 30_000, 100],
    [1, 90_000, 30_000, 100],
    [5, 15_000, 30_000, 250],
    [5, -5, 30_000, 1], // a clock that stepped back: still ~0, never negative
    [3, 10, 0, 300],
  ])('weight %i, %i ms into %i ms -> %i', (weight, elapsed, duration, expected) => {
    expect(rampWeight(weight, elapsed, duration)).toBe(expected)
    expect(SLOW_START_SCALE).toBe(100)
  })

  it.each([[100, 50], [5_000, 100], [30_000, 600], [600_000, 1000]])('ticks of a %i ms ramp: every %i ms', (duration, tick) => {
    expect(rampTickMs(duration)).toBe(tick)
  })
})

interface M extends Pickable {
  weight: number
  inFlight: number
}

/** Share of picks the joining server (b, weight 1, next to a of weight 1) gets at each time of a 30s ramp. */
function shares(name: BalanceName, times: readonly number[]): number[] {
  const a: M = { index: 0, weight: SLOW_START_SCALE, inFlight: 0, full: false }
  const b: M = { index: 1, weight: 1, inFlight: 0, full: false }
  const all = [a, b]
  const rng = new Rng(7)
  const balancer = createBalancer<M>(name, 2, { servers: [{ id: 'a:1', weight: 1 }, { id: 'b:1', weight: 1 }], random: () => rng.float() })
  return times.map((t) => {
    b.weight = rampWeight(1, t, 30_000) // the shell's tick, with the fake clock at t
    let toB = 0
    for (let i = 0; i < 10_000; i++) if (balancer.pick(all, null) === b) toB++
    return toB / 10_000
  })
}

const TIMES = [0, 3_000, 15_000, 30_000, 60_000]
const EXPECTED = TIMES.map((t) => { const w = rampWeight(1, t, 30_000); return w / (w + SLOW_START_SCALE) }) // 1%, 9%, 33%, 50%, 50%

describe.each<[BalanceName, number]>([
  ['round_robin', 0.001],
  ['least_connections', 0.001], // idle: ties are broken by weighted round robin
  ['random_two', 0.02],
])('a joining server ramps: %s', (name, tolerance) => {
  it(`share of picks at ${TIMES.map((t) => `${t / 1000}s`).join(', ')} of a 30s ramp ~ ${EXPECTED.map((e) => e.toFixed(2)).join(', ')}`, () => {
    const got = shares(name, TIMES)
    got.forEach((share, i) => expect(Math.abs(share - (EXPECTED[i] as number))).toBeLessThanOrEqual(tolerance))
    for (let i = 1; i < got.length; i++) expect(got[i] as number).toBeGreaterThanOrEqual((got[i - 1] as number) - tolerance)
  })
})

describe('least_connections under load while ramping', () => {
  /** Requests that never finish, 80 of them, with `a` busy (20 in flight) and `b` just joined (0): how many go to b. */
  function toJoining(bWeight: number): number {
    const a: M = { index: 0, weight: SLOW_START_SCALE, inFlight: 20, full: false }
    const b: M = { index: 1, weight: bWeight, inFlight: 0, full: false }
    const balancer = createBalancer<M>('least_connections', 2)
    let toB = 0
    for (let i = 0; i < 80; i++) {
      const s = balancer.pick([a, b], null) as M
      s.inFlight++
      if (s === b) toB++
    }
    return toB
  }

  it('a joining server is not flooded to catch up with the busy one: it gets its ramped share', () => {
    expect(toJoining(SLOW_START_SCALE)).toBeGreaterThanOrEqual(45) // no slow start: 20 to catch up, then half
    const ramped = toJoining(rampWeight(1, 3_000, 30_000)) // 10% into the ramp: weight 10 of 100
    expect(ramped).toBeGreaterThanOrEqual(5)
    expect(ramped).toBeLessThanOrEqual(10) // ~ 100 in flight * 10/110
  })
})
