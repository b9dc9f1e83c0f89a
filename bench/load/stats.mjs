// Percentiles and medians over plain arrays of numbers (the runs are bounded, so sorting is fine).
/** Nearest rank: the smallest value with at least p% of the samples at or below it. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN
  // 1e-9: 99.9% of 1000 is 999.0000000000001 in floating point, and must stay rank 999.
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length - 1e-9) - 1))]
}
export const sortNum = (xs) => Float64Array.from(xs).sort()
export const median = (xs) => { const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
