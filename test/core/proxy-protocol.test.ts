// The PROXY protocol header parser (core/proxy-protocol.ts): v1 text and v2 binary, from
// whole headers, their truncations and their corruptions.
import { describe, expect, it } from 'vitest'
import { MAX_V2_BODY, parseProxyHeader, V2_SIGNATURE } from '../../src/core/proxy-protocol.js'

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A v2 header: command (0 LOCAL, 1 PROXY), family/transport byte, address block, then TLVs. */
function v2(command: number, famProto: number, body: number[], tlvs: number[] = [], version = 2): Uint8Array {
  const rest = [...body, ...tlvs]
  return Uint8Array.from([...V2_SIGNATURE, (version << 4) | command, famProto, rest.length >> 8, rest.length & 0xff, ...rest])
}
const TCP4 = [192, 0, 2, 7, 10, 0, 0, 1, 0x30, 0x39, 0x01, 0xbb] // 192.0.2.7:12345 -> 10.0.0.1:443
const TCP6 = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 7, ...new Array<number>(15).fill(0), 1, 0x30, 0x39, 0x01, 0xbb]
const TLV = [0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00] // ALPN "h2", NOOP

describe('parseProxyHeader: accepted', () => {
  const then = (h: Uint8Array): Uint8Array => Uint8Array.from([...h, ...ascii('GET / HTTP/1.1\r\n')])
  it.each([
    ['v1 TCP4', ascii('PROXY TCP4 192.0.2.7 10.0.0.1 12345 443\r\n'), { address: '192.0.2.7', port: 12345 }],
    ['v1 TCP6', ascii('PROXY TCP6 2001:db8::7 ::1 12345 443\r\n'), { address: '2001:db8::7', port: 12345 }],
    ['v1 TCP6, long form printed canonical', ascii('PROXY TCP6 2001:0DB8:0:0:0:0:0:7 ::1 1 2\r\n'), { address: '2001:db8::7', port: 1 }],
    ['v1 UNKNOWN keeps the peer', ascii('PROXY UNKNOWN\r\n'), null],
    ['v1 UNKNOWN with addresses keeps the peer', ascii('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), null],
    ['v2 PROXY TCP4', v2(1, 0x11, TCP4), { address: '192.0.2.7', port: 12345 }],
    ['v2 PROXY UDP4', v2(1, 0x12, TCP4), { address: '192.0.2.7', port: 12345 }],
    ['v2 PROXY TCP6', v2(1, 0x21, TCP6), { address: '2001:db8::7', port: 12345 }],
    ['v2 TLVs are skipped', v2(1, 0x11, TCP4, TLV), { address: '192.0.2.7', port: 12345 }],
    ['v2 LOCAL keeps the peer', v2(0, 0x00, []), null],
    ['v2 LOCAL with addresses keeps the peer', v2(0, 0x11, TCP4), null],
    ['v2 UNSPEC keeps the peer', v2(1, 0x00, []), null],
    ['v2 UNIX keeps the peer', v2(1, 0x31, new Array<number>(216).fill(0)), null],
  ] as const)('%s', (_name, header, source) => {
    expect(parseProxyHeader(header)).toEqual({ kind: 'ok', length: header.length, source })
    // The request behind it is not part of the header.
    expect(parseProxyHeader(then(header))).toEqual({ kind: 'ok', length: header.length, source })
  })

  it.each([
    ['v1', ascii('PROXY TCP4 192.0.2.7 10.0.0.1 12345 443\r\n')],
    ['v2 with TLVs', v2(1, 0x11, TCP4, TLV)],
    ['v2 TCP6', v2(1, 0x21, TCP6)],
  ])('%s: every truncation is incomplete, never a verdict', (_name, header) => {
    for (let n = 0; n < header.length; n++) expect(parseProxyHeader(header.subarray(0, n)).kind).toBe('incomplete')
  })
})

describe('parseProxyHeader: refused', () => {
  it.each([
    ['an HTTP request', ascii('GET / HTTP/1.1\r\n'), /signature/],
    ['POST starts like PROXY', ascii('POST / HTTP/1.1\r\n'), /signature/],
    ['TLS ClientHello', Uint8Array.of(0x16, 0x03, 0x01, 0x00), /signature/],
    ['lower-case v1', ascii('proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n'), /signature/],
    ['v1 LF only', ascii('PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n'), /CRLF/],
    ['v1 over 107 bytes', ascii(`PROXY UNKNOWN ${'x'.repeat(100)}\r\n`), /longer than 107/],
    ['v1 107 bytes, no CRLF yet', ascii(`PROXY TCP4 ${'1'.repeat(96)}`), /longer than 107/],
    ['v1 TCP4 with an IPv6 address', ascii('PROXY TCP4 ::1 ::1 1 2\r\n'), /not IPv4/],
    ['v1 TCP6 with an IPv4 address', ascii('PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n'), /not IPv6/],
    ['v1 bad address', ascii('PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n'), /not IPv4/],
    ['v1 port over 65535', ascii('PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n'), /port/],
    ['v1 port with a leading zero', ascii('PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n'), /port/],
    ['v1 missing a field', ascii('PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n'), /must be/],
    ['v1 double space', ascii('PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n'), /must be/],
    ['v1 other protocol', ascii('PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n'), /must be/],
    ['v1 control character', ascii('PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n'), /control/],
    ['v1 non-ASCII', Uint8Array.from([...ascii('PROXY TCP4 '), 0xc3, 0xa9, 0x0d, 0x0a]), /ASCII/],
    ['v2 wrong signature byte', Uint8Array.from([...V2_SIGNATURE.subarray(0, 11), 0x0b, 0x21, 0x11, 0, 0]), /signature/],
    ['v2 version 1', v2(1, 0x11, TCP4, [], 1), /version 1/],
    ['v2 unknown command', v2(2, 0x11, TCP4), /command 2/],
    ['v2 unknown family', v2(1, 0x41, TCP4), /family/],
    ['v2 unknown transport', v2(1, 0x13, TCP4), /family/],
    ['v2 TCP4 block too short', v2(1, 0x11, TCP4.slice(0, 8)), /too short/],
    ['v2 TCP6 block too short', v2(1, 0x21, TCP4), /too short/],
    ['v2 oversized (refused before the bytes arrive)', Uint8Array.from([...V2_SIGNATURE, 0x21, 0x11, 0xff, 0xff]), /over the 2048-byte limit/],
    ['v2 just over the limit', Uint8Array.from([...V2_SIGNATURE, 0x21, 0x11, (MAX_V2_BODY + 1) >> 8, (MAX_V2_BODY + 1) & 0xff]), /limit/],
  ] as const)('%s', (_name, bytes, reason) => {
    const r = parseProxyHeader(bytes)
    expect(r.kind).toBe('invalid')
    expect(r.kind === 'invalid' && r.reason).toMatch(reason)
  })
})
