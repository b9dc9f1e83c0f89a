// The retry budget (src/core/retry-budget.ts) with explicit time: retries allowed while
// retries in the 10 s window + 1 <= ratio * requests + min_per_second * 10.
import { describe, expect, it } from 'vitest'
import { RetryBudget } from '../../src/core/retry-budget.js'

/** `requests` requests at t=0, then as many retries as the budget allows at `at` ms (stops at 10,000). */
function allowed(ratio: number, minPerSecond: number, requests: number, at = 0): number {
  const b = new RetryBudget(ratio, minPerSecond)
  for (let i = 0; i < requests; i++) b.request(0)
  let n = 0
  while (n < 10_000 && b.tryRetry(at)) n++
  return n
}

describe('RetryBudget', () => {
  it.each<[number, number, number, number]>([
    // ratio, min_per_second, requests in the window, retries allowed
    [0.2, 10, 0, 100], // the floor: 10 per second over the 10 s window
    [0.2, 10, 1000, 300], // 20% of 1000 + 100
    [0.2, 0, 1000, 200],
    [0, 0, 1000, 0], // no budget: never a retry
    [0, 1, 1000, 10],
    [1, 0, 50, 50],
    [0.5, 0, 3, 1], // 1.5 rounds down: a retry must fit whole
  ])('ratio %f, min_per_second %i, %i requests -> %i retries', (ratio, min, requests, expected) => {
    expect(allowed(ratio, min, requests)).toBe(expected)
  })

  it('the window slides: requests and retries older than 10 s no longer count', () => {
    const b = new RetryBudget(0.1, 0)
    for (let i = 0; i < 100; i++) b.request(500)
    let n = 0
    while (b.tryRetry(900)) n++
    expect(n).toBe(10)
    expect(b.window(9_999)).toEqual({ requests: 100, retries: 10 })
    expect(b.tryRetry(9_999)).toBe(false)
    expect(b.window(10_000)).toEqual({ requests: 0, retries: 0 }) // bucket 0 left the window
    b.request(10_000)
    expect(b.tryRetry(10_001)).toBe(false) // 0.1 of 1 request: not a whole retry
  })

  it('buckets in between empty as time passes; a long pause empties everything', () => {
    const b = new RetryBudget(1, 0)
    b.request(0)
    b.request(3_000)
    b.request(7_500)
    expect(b.window(9_000).requests).toBe(3)
    expect(b.window(12_000).requests).toBe(2) // 0 s and 1 s..2 s left
    expect(b.window(13_500).requests).toBe(1)
    expect(b.window(1_000_000).requests).toBe(0)
  })

  it('a clock that steps back counts in the newest bucket', () => {
    const b = new RetryBudget(1, 0)
    b.request(5_000)
    b.request(4_000)
    expect(b.tryRetry(3_000)).toBe(true)
    expect(b.window(5_000)).toEqual({ requests: 2, retries: 1 })
  })
})
