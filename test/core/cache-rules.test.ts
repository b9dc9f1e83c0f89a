// Cache decisions of switchyard's own (core/cache-rules.ts): the X-Cache result from what the
// step marker saw, and the cache key's origin from the request's Host.
import { describe, expect, it } from 'vitest'
import { CacheStep, STALE_WARNING, cacheOrigin, cacheResult } from '../../src/core/cache-rules.js'

describe('cacheResult', () => {
  it.each([
    ['nothing went to a server: a hit', CacheStep.None, false, undefined, 'HIT'],
    ['from the store with undici\'s stale warning', CacheStep.None, false, STALE_WARNING, 'STALE'],
    ['another Warning is not staleness', CacheStep.None, false, '199 - "misc"', 'HIT'],
    ['a list of warnings is not the stale one', CacheStep.None, false, [STALE_WARNING, 'x'], 'HIT'],
    ['a miss', CacheStep.Miss, true, undefined, 'MISS'],
    ['a miss stays a miss whatever the headers', CacheStep.Miss, true, STALE_WARNING, 'MISS'],
    ['revalidated, the server sent a new response', CacheStep.Revalidate, true, undefined, 'MISS'],
    ['revalidated, 304: served from the store', CacheStep.Revalidate, false, undefined, 'HIT'],
    ['the cache did not take part', CacheStep.Bypass, true, undefined, 'BYPASS'],
    ['bypass even from the store side', CacheStep.Bypass, false, undefined, 'BYPASS'],
    ['revalidation failed, stale-if-error', CacheStep.StaleAfterError, false, undefined, 'STALE'],
  ] as const)('%s', (_name, step, fromServer, warning, result) => {
    expect(cacheResult(step, fromServer, warning as string | string[] | undefined)).toBe(result)
  })
})

describe('cacheOrigin', () => {
  it.each([
    [undefined, 'http://'],
    ['example.com', 'http://example.com'],
    ['Example.COM', 'http://example.com'],
    ['example.com:80', 'http://example.com'],
    ['example.com:8080', 'http://example.com:8080'],
    ['[::1]:80', 'http://[::1]'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['127.0.0.1', 'http://127.0.0.1'],
    ['a:800', 'http://a:800'],
  ] as const)('%s -> %s', (host, origin) => {
    expect(cacheOrigin(host)).toBe(origin)
  })
})
