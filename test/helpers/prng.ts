// A small seeded PRNG for reproducible fuzz tests (never Math.random). Every case gets its
// own generator derived from (seed, case index), so one failing case can be replayed alone:
// FUZZ_SEED=<seed> FUZZ_CASE=<index> npx vitest run <file>.

/** sfc32-style mixing of a 32-bit seed and a case index into a fresh generator state. */
function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

export class Rng {
  #state: number

  constructor(seed: number, index = 0) {
    this.#state = mix(seed >>> 0, index >>> 0) || 1
  }

  /** mulberry32: a uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296
  }

  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(0, items.length - 1)] as T
  }

  /** A string of up to `maxLength - 1` code units, each drawn from one of `pools` ([lo, hi], inclusive). */
  string(pools: readonly (readonly [number, number])[], maxLength: number): string {
    let str = ''
    const len = this.u32() % maxLength
    for (let k = 0; k < len; k++) {
      const [lo, hi] = pools[this.u32() % pools.length]!
      str += String.fromCharCode(lo + (this.u32() % (hi - lo + 1)))
    }
    return str
  }

  /** `n` random bytes as a latin1 string. */
  bytes(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0, 255))
    return s
  }
}

/** The seed from env FUZZ_SEED (decimal or 0x hex), else `fallback`. */
export function fuzzSeed(fallback: number): number {
  const v = process.env.FUZZ_SEED
  if (v === undefined || v === '') return fallback >>> 0
  const n = Number(v)
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer (got ${v})`)
  return n >>> 0
}

/** The number of cases from env FUZZ_CASES, else `fallback`. */
export function fuzzCases(fallback: number): number {
  const v = process.env.FUZZ_CASES
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_CASES must be a positive integer (got ${v})`)
  return n
}

/** The case indexes to run: only FUZZ_CASE when set (replaying one case), else 0..count-1. */
export function fuzzIndexes(count: number): number[] {
  const only = process.env.FUZZ_CASE
  if (only !== undefined && only !== '') return [Number(only)]
  return Array.from({ length: count }, (_, i) => i)
}
