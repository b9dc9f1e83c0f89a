// IP address text <-> bytes, without node:net (the core is pure): shared by the CIDR parser
// of `trusted_proxies`, the X-Forwarded-For walk and the PROXY protocol parser, which all
// have to tell a valid address from garbage and, for PROXY v2, print one from raw bytes.
// Formatting follows RFC 5952 (lower case, the longest run of zero groups as "::", an
// IPv4-mapped address as "::ffff:a.b.c.d"): the same text Node gives as socket.remoteAddress,
// so ip_hash and the access log see one spelling whichever way the address arrived.

/** "a.b.c.d" -> 4 bytes; decimal only, no leading zeros (010 is octal to some parsers). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === '0')) return undefined
    let n = 0
    for (let j = 0; j < p.length; j++) {
      const c = p.charCodeAt(j) - 48
      if (c < 0 || c > 9) return undefined
      n = n * 10 + c
    }
    if (n > 255) return undefined
    out[i] = n
  }
  return out
}

/** IPv6 text (with "::" and an embedded IPv4 tail; no zone, no brackets) -> 16 bytes. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const groups = (text: string): number[] | undefined => {
    if (text === '') return []
    const out: number[] = []
    const parts = text.split(':')
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p)
        if (v4 === undefined) return undefined
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number))
        continue
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined
      out.push(parseInt(p, 16))
    }
    return out
  }
  const head = groups(halves[0] as string)
  const tail = halves.length === 2 ? groups(halves[1] as string) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    out[2 * i] = (all[i] as number) >> 8
    out[2 * i + 1] = (all[i] as number) & 0xff
  }
  return out
}

/** 4 or 6 for a valid address text, else 0 (as node:net isIP). */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (parseIPv4(s) !== undefined) return 4
  return s.includes(':') && parseIPv6(s) !== undefined ? 6 : 0
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
}

/** 16 bytes from `at` -> RFC 5952 text. */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push(((b[at + 2 * i] as number) << 8) | (b[at + 2 * i + 1] as number))
  // ::ffff:a.b.c.d (IPv4-mapped), as Node prints a mapped peer.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${formatIPv4(b, at + 12)}`
  let bestAt = -1
  let bestLen = 1 // a single zero group is not shortened (RFC 5952 4.2.2)
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i]
    i = j
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':')
  if (bestAt < 0) return hex(g)
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`
}
