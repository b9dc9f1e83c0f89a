// `listeners[].trusted_proxies` entries: "10.0.0.0/8", "2001:db8::/32", or a bare address
// ("::1" = /128, "10.0.0.1" = /32). Parsed once at config load into the family, the
// network's canonical text and the prefix length; the shell puts them in a node:net
// BlockList. An entry with bits set past its prefix ("10.0.0.1/8") is refused rather than
// silently widened (nginx warns and widens): a trust list is a security boundary, and
// "10.0.0.1/8" is as likely a typo for /32 as for 10.0.0.0/8.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip-address.js'

export interface Cidr {
  readonly family: 4 | 6
  /** The network address, canonical (RFC 5952 for IPv6). */
  readonly network: string
  readonly prefix: number
}

export function parseCidr(text: string): Cidr | { readonly error: string } {
  const slash = text.indexOf('/')
  const addressText = slash < 0 ? text : text.slice(0, slash)
  const v4 = parseIPv4(addressText)
  const bytes = v4 ?? (addressText.includes(':') ? parseIPv6(addressText) : undefined)
  if (bytes === undefined) return { error: `must be an IPv4 or IPv6 address or a CIDR range such as 10.0.0.0/8 or "2001:db8::/32" (got "${text}")` }
  const family = v4 === undefined ? 6 : 4
  const bits = family === 4 ? 32 : 128
  let prefix = bits
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return { error: `the prefix length after "/" must be 0 to ${bits} for an IPv${family} range (got "${text}")` }
    prefix = Number(p)
  }
  for (let bit = prefix; bit < bits; bit++) {
    if (((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) !== 0) {
      const network = bytes.slice()
      for (let b = prefix; b < bits; b++) network[b >> 3] = (network[b >> 3] as number) & ~(0x80 >> (b & 7))
      const net = family === 4 ? formatIPv4(network) : formatIPv6(network)
      return { error: `"${text}" has bits set past its /${prefix} prefix: write ${net}/${prefix} for the range, or the address alone for one host` }
    }
  }
  return { family, network: family === 4 ? formatIPv4(bytes) : formatIPv6(bytes), prefix }
}
