// Durations in the config file are strings with a unit ("250ms", "2s", "1.5m", "1h").
// A bare number is refused on purpose: `timeout: 2` could mean seconds or milliseconds,
// and guessing wrong by a factor of 1000 is the kind of mistake an operator finds at 3am.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/

/** The longest delay Node.js timers accept (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * "250ms" | "2s" | "1.5m" | "1h" -> milliseconds. Zero is accepted here (each config key
 * decides whether it may be zero). A bare number, a missing or unknown unit, a negative
 * value, spaces or anything else -> undefined.
 */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s)
  if (m === null) return undefined
  const value = Number(m[1])
  const unit = m[2] as keyof typeof UNIT_MS
  // toFixed(3) drops binary floating-point noise (1.1 * 1000 = 1100.0000000000002)
  // while keeping sub-millisecond precision such as "0.5ms".
  return Number((value * UNIT_MS[unit]).toFixed(3))
}
