// Sizes in the config: a whole number of bytes, or with a unit k, m, g (powers of 1024,
// as nginx reads `client_max_body_size 10m`): 512, "16k", "10m", "1g", "1.5m".
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(v.trim())
  if (m === null) return undefined
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] as number))
  return Number.isSafeInteger(bytes) ? bytes : undefined
}
