// The client address behind trusted proxies (core/forwarded-for.ts): nginx realip with
// real_ip_recursive on. The peer (10.0.0.1 here) is a trusted proxy in every row.
import { describe, expect, it } from 'vitest'
import { BlockList } from 'node:net'
import { clientFromForwardedFor } from '../../src/core/forwarded-for.js'

const trust = new BlockList()
trust.addSubnet('10.0.0.0', 8, 'ipv4')
trust.addAddress('::1', 'ipv6')
const trusted = (a: string, f: 4 | 6): boolean => trust.check(a, f === 4 ? 'ipv4' : 'ipv6')

describe('clientFromForwardedFor', () => {
  it.each([
    ['no header: the peer', [], '10.0.0.1'],
    ['one untrusted entry', ['203.0.113.7'], '203.0.113.7'],
    ['right-most untrusted, not left-most (a client-written spoof on the left)', ['1.1.1.1, 203.0.113.7'], '203.0.113.7'],
    ['trusted hops skipped', ['203.0.113.7, 10.0.0.3, 10.0.0.2'], '203.0.113.7'],
    ['every entry trusted: the left-most', ['10.0.0.9, 10.0.0.2'], '10.0.0.9'],
    ['several headers are one list', ['198.51.100.1', '203.0.113.7, 10.0.0.2'], '203.0.113.7'],
    ['spaces and empty items', [' 203.0.113.7 ,, 10.0.0.2 , '], '203.0.113.7'],
    ['IPv6 client', ['2001:db8::7'], '2001:db8::7'],
    ['IPv6 trusted hop', ['2001:db8::7, ::1'], '2001:db8::7'],
    ['IPv4-mapped trusted hop', ['203.0.113.7, ::ffff:10.0.0.2'], '203.0.113.7'],
    ['garbage before an untrusted entry is never reached', ['evil, 203.0.113.7'], '203.0.113.7'],
    ['garbage reached: the peer stays', ['203.0.113.7, unknown, 10.0.0.2'], '10.0.0.1'],
    ['a port is not an address: the peer stays', ['203.0.113.7:5555'], '10.0.0.1'],
    ['brackets are not an address: the peer stays', ['[2001:db8::7]'], '10.0.0.1'],
  ] as const)('%s', (_name, xff, client) => {
    expect(clientFromForwardedFor('10.0.0.1', xff, trusted)).toBe(client)
  })
})
