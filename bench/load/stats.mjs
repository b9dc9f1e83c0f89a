// Percentiles and medians over plain arrays of numbers (the runs are bounded, so sorting is fine).
export function percentile(sorted, p) {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
export const sortNum = (xs) => Float64Array.from(xs).sort()
export const median = (xs) => { const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
