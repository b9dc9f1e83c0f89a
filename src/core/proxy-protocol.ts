// The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) that a load balancer in
// front (HAProxy, AWS NLB, another switchyard...) sends at the start of each connection on a
// listener with `proxy_protocol: true`. Pure: bytes in, a verdict out; the shell
// (process/proxy-protocol.ts) reads the socket until the verdict is not `incomplete`.
//
// - v1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN...\r\n", at most 107
//   bytes with the CRLF. Addresses must be valid and of the family named; ports 0-65535.
// - v2: the 12-byte signature, version 2, command LOCAL (health checks of the proxy itself:
//   the real peer stays) or PROXY; family TCP/UDP over IPv4/IPv6 gives the source; UNSPEC
//   and UNIX keep the real peer. TLVs after the addresses are skipped. The address block
//   is capped at MAX_V2_BODY bytes: more is refused (no load balancer sends kilobytes).
// A `source` of null means "keep the TCP peer" (LOCAL, UNKNOWN, UNSPEC, UNIX).
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip-address.js'

export type ProxyHeader =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'ok'; readonly length: number; readonly source: { readonly address: string; readonly port: number } | null }

export const V1_MAX = 107
export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a)
/** Bytes after the 16-byte v2 head: addresses (36 at most for TCP6, 216 for UNIX) plus TLVs. */
export const MAX_V2_BODY = 2048
const V1_PREFIX = 'PROXY '
const INCOMPLETE: ProxyHeader = Object.freeze({ kind: 'incomplete' })

const invalid = (reason: string): ProxyHeader => ({ kind: 'invalid', reason })

/** Reads a header from the first bytes of a connection (as many as have arrived). */
export function parseProxyHeader(buf: Uint8Array): ProxyHeader {
  if (buf.length === 0) return INCOMPLETE
  if (buf[0] === 0x0d) return parseV2(buf)
  if (buf[0] === 0x50) return parseV1(buf)
  return invalid('no PROXY protocol signature')
}

function parseV1(buf: Uint8Array): ProxyHeader {
  const n = Math.min(buf.length, V1_MAX)
  let end = -1
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number
    if (i < V1_PREFIX.length && c !== V1_PREFIX.charCodeAt(i)) return invalid('no PROXY protocol signature')
    if (c === 0x0a) {
      if (i === 0 || buf[i - 1] !== 0x0d) return invalid('v1 header line must end with CRLF')
      end = i + 1
      break
    }
    if (c < 0x20 && c !== 0x0d) return invalid('v1 header has a control character')
    if (c > 0x7e) return invalid('v1 header is not ASCII')
  }
  if (end < 0) return buf.length >= V1_MAX ? invalid(`v1 header longer than ${V1_MAX} bytes`) : INCOMPLETE
  let line = ''
  for (let i = 0; i < end - 2; i++) line += String.fromCharCode(buf[i] as number)
  const f = line.split(' ')
  if (f[1] === 'UNKNOWN') return { kind: 'ok', length: end, source: null }
  if (f.length !== 6 || (f[1] !== 'TCP4' && f[1] !== 'TCP6')) return invalid('v1 header must be "PROXY TCP4|TCP6 src dst sport dport" or "PROXY UNKNOWN"')
  const parse = f[1] === 'TCP4' ? parseIPv4 : parseIPv6
  const src = parse(f[2] as string)
  if (src === undefined || parse(f[3] as string) === undefined) return invalid(`v1 header has an address that is not ${f[1] === 'TCP4' ? 'IPv4' : 'IPv6'}`)
  const sport = port(f[4] as string)
  if (sport < 0 || port(f[5] as string) < 0) return invalid('v1 header has a bad port')
  return { kind: 'ok', length: end, source: { address: f[1] === 'TCP4' ? formatIPv4(src) : formatIPv6(src), port: sport } }
}

function port(s: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return -1
  const p = Number(s)
  return p <= 65535 ? p : -1
}

function parseV2(buf: Uint8Array): ProxyHeader {
  const n = Math.min(buf.length, V2_SIGNATURE.length)
  for (let i = 0; i < n; i++) if (buf[i] !== V2_SIGNATURE[i]) return invalid('no PROXY protocol signature')
  if (buf.length < 16) return INCOMPLETE
  const verCmd = buf[12] as number
  if (verCmd >> 4 !== 2) return invalid(`v2 header has version ${verCmd >> 4}, not 2`)
  const command = verCmd & 0x0f
  if (command > 1) return invalid(`v2 header has an unknown command ${command}`)
  const famProto = buf[13] as number
  const bodyLength = ((buf[14] as number) << 8) | (buf[15] as number)
  if (bodyLength > MAX_V2_BODY) return invalid(`v2 header of ${bodyLength} bytes is over the ${MAX_V2_BODY}-byte limit`)
  const length = 16 + bodyLength
  if (buf.length < length) return INCOMPLETE
  if (command === 0) return { kind: 'ok', length, source: null } // LOCAL: the proxy speaking for itself
  const family = famProto >> 4
  const transport = famProto & 0x0f
  if (transport > 2 || family > 3) return invalid(`v2 header has an unknown address family 0x${famProto.toString(16)}`)
  if (family === 1) {
    if (bodyLength < 12) return invalid('v2 header too short for IPv4 addresses')
    return { kind: 'ok', length, source: { address: formatIPv4(buf, 16), port: ((buf[24] as number) << 8) | (buf[25] as number) } }
  }
  if (family === 2) {
    if (bodyLength < 36) return invalid('v2 header too short for IPv6 addresses')
    return { kind: 'ok', length, source: { address: formatIPv6(buf, 16), port: ((buf[48] as number) << 8) | (buf[49] as number) } }
  }
  return { kind: 'ok', length, source: null } // UNSPEC or UNIX: the peer stays
}
