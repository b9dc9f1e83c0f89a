// DNS discovery's decisions (src/core/discovery.ts) as tables: lookup results, when to look
// again (TTL clamped to [1s, resolve_interval], backoff after failures), which records are
// taken (SRV priorities, duplicates, the 256 cap, a stable order) and what changed.
import { describe, expect, it } from 'vitest'
import {
  addressId, diffSets, lookupErrorText, lowestPriority, MAX_RECORDS, nextLookupMs, resultOfError, srvWeight, takeAddresses,
  type FoundAddress, type LookupResult,
} from '../../src/core/discovery.js'

describe('resultOfError', () => {
  it.each<[string | undefined, 'failed' | 'empty']>([
    ['ENODATA', 'empty'], // the name exists, no record of the type
    ['ENOTFOUND', 'failed'], // NXDOMAIN
    ['ESERVFAIL', 'failed'],
    ['ETIMEOUT', 'failed'],
    ['ECONNREFUSED', 'failed'],
    [undefined, 'failed'],
  ])('%s -> %s', (code, result) => expect(resultOfError(code)).toBe(result))

  it('error texts name the DNS condition', () => {
    expect(lookupErrorText('ENOTFOUND')).toBe('the name does not exist (NXDOMAIN)')
    expect(lookupErrorText('EWHATEVER')).toBe('lookup error EWHATEVER')
    expect(lookupErrorText(undefined)).toBe('lookup error unknown')
  })
})

describe('nextLookupMs', () => {
  it.each<[LookupResult, number | null, number, number, number]>([
    // result, smallest TTL (s), resolve_interval (ms), failures in a row, next lookup in (ms)
    ['ok', 5, 30_000, 0, 5_000], // a TTL under the interval: sooner
    ['ok', 300, 30_000, 0, 30_000], // over it: the interval is the longest a record is trusted
    ['ok', 0, 30_000, 0, 1_000], // never more often than every 1s
    ['ok', 0.2, 30_000, 0, 1_000],
    ['ok', 1, 1_000, 0, 1_000],
    ['ok', null, 10_000, 0, 10_000], // unknown TTL (SRV): the interval
    ['failed', 5, 30_000, 1, 1_000], // failures: 1s, doubling...
    ['failed', 5, 30_000, 2, 2_000],
    ['empty', null, 30_000, 3, 4_000],
    ['failed', null, 30_000, 5, 16_000],
    ['failed', null, 30_000, 6, 30_000], // ... up to the interval
    ['failed', null, 30_000, 500, 30_000],
    ['failed', null, 5_000, 0, 1_000],
  ])('%s, ttl %s, interval %i, failures %i -> %i', (result, ttl, interval, failures, expected) => {
    expect(nextLookupMs(result, ttl, interval, failures)).toBe(expected)
  })
})

describe('addresses', () => {
  it.each<[string, number, string]>([
    ['10.0.0.5', 8000, '10.0.0.5:8000'],
    ['fd00::5', 8000, '[fd00::5]:8000'],
  ])('addressId(%s, %i) = %s', (address, port, id) => expect(addressId(address, port)).toBe(id))

  it.each<[number, number]>([[0, 1], [1, 1], [7, 7], [1000, 1000], [65535, 1000]])('srvWeight(%i) = %i', (w, out) => expect(srvWeight(w)).toBe(out))

  const at = (address: string, port = 80, weight = 1): FoundAddress => ({ address, port, weight })

  it.each<[string, FoundAddress[], number, FoundAddress[], number]>([
    ['sorted, so a rotating answer is the same set', [at('10.0.0.3'), at('10.0.0.1'), at('10.0.0.2')], 256, [at('10.0.0.1'), at('10.0.0.2'), at('10.0.0.3')], 0],
    ['duplicates dropped, the first weight kept', [at('10.0.0.1', 80, 5), at('10.0.0.1', 80, 2), at('10.0.0.1', 81)], 256, [at('10.0.0.1', 80, 5), at('10.0.0.1', 81)], 0],
    ['cut at the cap, counted', [at('10.0.0.4'), at('10.0.0.3'), at('10.0.0.2'), at('10.0.0.1')], 2, [at('10.0.0.1'), at('10.0.0.2')], 2],
    ['nothing', [], 256, [], 0],
  ])('takeAddresses: %s', (_, found, cap, taken, dropped) => {
    expect(takeAddresses(found, cap)).toEqual({ taken, dropped })
  })

  it('1,000 records: 256 taken, the same 256 whatever the order', () => {
    const many = Array.from({ length: 1000 }, (_, i) => at(`10.1.${i >> 8}.${i & 255}`))
    const one = takeAddresses(many)
    const two = takeAddresses([...many].reverse())
    expect(one.taken.length).toBe(MAX_RECORDS)
    expect(one.dropped).toBe(1000 - MAX_RECORDS)
    expect(two).toEqual(one)
  })
})

describe('lowestPriority', () => {
  const srv = (name: string, priority: number, weight = 1, port = 80) => ({ name, port, priority, weight })
  it.each([
    ['only the lowest priority', [srv('a', 20), srv('b', 10), srv('c', 10)], [srv('b', 10), srv('c', 10)]],
    ['"." means the service is not offered', [srv('.', 0), srv('a', 5)], [srv('a', 5)]],
    ['none', [], []],
    ['only "."', [srv('.', 0)], []],
  ])('%s', (_, records, expected) => expect(lowestPriority(records)).toEqual(expected))
})

describe('diffSets', () => {
  it.each<[string[], string[], { joined: string[]; left: string[]; kept: string[] }]>([
    [[], ['a', 'b'], { joined: ['a', 'b'], left: [], kept: [] }],
    [['a', 'b'], ['b', 'c'], { joined: ['c'], left: ['a'], kept: ['b'] }],
    [['a', 'b'], ['b', 'a'], { joined: [], left: [], kept: ['b', 'a'] }],
    [['a'], [], { joined: [], left: ['a'], kept: [] }],
  ])('%j -> %j', (before, after, expected) => expect(diffSets(before, after)).toEqual(expected))
})
