// The one 32-bit string hash of the affinity features: the key of `balance: hash` and
// `ip_hash`, the points of the hash ring, and the sticky cookie's value. FNV-1a over the
// UTF-16 code units (charCodeAt: no encoding, no allocation, and a range of a string can
// be hashed in place, e.g. one cookie out of a Cookie header), then murmur3's finalizer:
// FNV-1a alone spreads short, similar strings ("10.0.0.1", "10.0.0.2") poorly over the
// high bits, which is what a ring lookup compares first.
//
// The result is an unsigned 32-bit integer (0..2^32-1), the same in every process and
// across restarts: workers agree on a key's server without sharing any state.

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** hash32 of s.slice(start, end), without making the slice. */
export function hash32Range(s: string, start: number, end: number, seed = FNV_OFFSET): number {
  let h = seed
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return mix32(h)
}

export function hash32(s: string, seed = FNV_OFFSET): number {
  return hash32Range(s, 0, s.length, seed)
}

/** murmur3 fmix32: every input bit reaches every output bit. */
export function mix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
