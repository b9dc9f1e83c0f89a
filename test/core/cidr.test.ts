// trusted_proxies entries (core/cidr.ts) and the address parsers under them (core/ip-address.ts).
import { describe, expect, it } from 'vitest'
import { isIP } from 'node:net'
import { parseCidr } from '../../src/core/cidr.js'
import { formatIPv6, ipFamily, parseIPv6 } from '../../src/core/ip-address.js'

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { family: 4, network: '10.0.0.0', prefix: 8 }],
    ['10.1.2.3', { family: 4, network: '10.1.2.3', prefix: 32 }],
    ['0.0.0.0/0', { family: 4, network: '0.0.0.0', prefix: 0 }],
    ['192.168.1.0/24', { family: 4, network: '192.168.1.0', prefix: 24 }],
    ['::1', { family: 6, network: '::1', prefix: 128 }],
    ['2001:DB8::/32', { family: 6, network: '2001:db8::', prefix: 32 }],
    ['fd00::/8', { family: 6, network: 'fd00::', prefix: 8 }],
    ['::/0', { family: 6, network: '::', prefix: 0 }],
    ['::ffff:10.0.0.0/104', { family: 6, network: '::ffff:10.0.0.0', prefix: 104 }],
  ] as const)('%s', (text, want) => {
    expect(parseCidr(text)).toEqual(want)
  })

  it.each([
    ['10.0.0.1/8', /bits set past its \/8 prefix: write 10\.0\.0\.0\/8/],
    ['2001:db8::1/32', /write 2001:db8::\/32/],
    ['10.0.0.0/33', /0 to 32/],
    ['::/129', /0 to 128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['10.0.0.0/8/8', /prefix length/],
    ['10.0.0', /IPv4 or IPv6 address/],
    ['010.0.0.1', /IPv4 or IPv6 address/],
    ['256.0.0.1', /IPv4 or IPv6 address/],
    ['example.com', /IPv4 or IPv6 address/],
    ['[::1]', /IPv4 or IPv6 address/],
    ['fe80::1%eth0', /IPv4 or IPv6 address/],
    ['', /IPv4 or IPv6 address/],
  ] as const)('%s is refused', (text, message) => {
    const r = parseCidr(text)
    expect('error' in r && r.error).toMatch(message)
  })
})

describe('IPv6 text', () => {
  // Agrees with node:net on what is an address, and prints what Node prints for a peer.
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::FFFF:0102:0304', '::ffff:1.2.3.4'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
  ])('%s -> %s', (text, canonical) => {
    expect(isIP(text)).toBe(6)
    expect(ipFamily(text)).toBe(6)
    expect(formatIPv6(parseIPv6(text)!)).toBe(canonical)
  })

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '12345::', 'g::', '1:2:3:4:5:6:7::8:9', '::1.2.3', '1.2.3.4'])('%s is not IPv6', (text) => {
    expect(parseIPv6(text)).toBeUndefined()
  })
})
