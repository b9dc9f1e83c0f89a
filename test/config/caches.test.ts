// The `caches:` section and `routes[].cache`: values, defaults, and every problem with its line.
import { describe, expect, test } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { configOf, problemsOf } from '../helpers/config.js'

const HEAD = `listeners: [{port: 1}]
upstreams: {app: {servers: [{url: "http://127.0.0.1:3001"}]}}
`


describe('caches: valid', () => {
  test('defaults: memory store, 64 MiB, 10000 entries, 5 MiB per entry, X-Cache on; routes without cache: null', () => {
    const config = configOf(parseConfig(`${HEAD}caches: {pages: {}}
routes:
  - {upstream: app, cache: pages}
  - {match: {path_prefix: /api}, upstream: app}
`))
    expect(config.caches).toEqual([{ name: 'pages', store: 'memory', maxSize: 64 * 1024 ** 2, maxEntries: 10_000, maxEntrySize: 5 * 1024 ** 2, xCacheHeader: true, redis: null }])
    expect(config.routes.map((r) => r.cache)).toEqual(['pages', null])
  })

  test('every key set; a redis store with its defaults filled in', () => {
    const config = configOf(parseConfig(`${HEAD}caches:
  small: {max_size: 1m, max_entries: 10, max_entry_size: 64k, x_cache_header: false}
  shared:
    store: redis
    max_entry_size: 1m
    redis: {url: "redis://:secret@127.0.0.1:6380/2", key_prefix: "site-a:", timeout: 250ms}
  shared2: {store: redis, redis: {url: "redis://cache.internal"}}
routes: [{upstream: app, cache: shared}]
`))
    expect(config.caches).toEqual([
      { name: 'small', store: 'memory', maxSize: 1024 ** 2, maxEntries: 10, maxEntrySize: 64 * 1024, xCacheHeader: false, redis: null },
      { name: 'shared', store: 'redis', maxSize: 64 * 1024 ** 2, maxEntries: 10_000, maxEntrySize: 1024 ** 2, xCacheHeader: true, redis: { url: 'redis://:secret@127.0.0.1:6380/2', keyPrefix: 'site-a:', timeoutMs: 250 } },
      { name: 'shared2', store: 'redis', maxSize: 64 * 1024 ** 2, maxEntries: 10_000, maxEntrySize: 5 * 1024 ** 2, xCacheHeader: true, redis: { url: 'redis://cache.internal', keyPrefix: 'switchyard:', timeoutMs: 500 } },
    ])
  })

  test('a small max_size lowers the default max_entry_size to it', () => {
    const config = configOf(parseConfig(`${HEAD}caches: {tiny: {max_size: 4k}}\n`))
    expect(config.caches[0]?.maxEntrySize).toBe(4096)
  })
})

describe('caches: problems, each with its key path and line', () => {
  test.each([
    ['an unknown cache key, with a hint', 'caches:\n  p: {max_entires: 5}\n', 'caches.p.max_entires: unknown key "max_entires"; did you mean "max_entries"? (line 4)'],
    ['an unknown store', 'caches:\n  p: {store: disk}\n', 'caches.p.store: must be one of memory, redis (got "disk") (line 4)'],
    ['a size without a unit it knows', 'caches:\n  p: {max_size: lots}\n', 'caches.p.max_size: must be a size: a number of bytes, or with a unit k, m or g such as "16k" or "10m" (got "lots") (line 4)'],
    ['zero entries', 'caches:\n  p: {max_entries: 0}\n', 'caches.p.max_entries: must be an integer from 1 to 100000000 (got 0) (line 4)'],
    ['an entry larger than the store', 'caches:\n  p: {max_size: 1m, max_entry_size: 2m}\n', 'caches.p.max_entry_size: must not be larger than max_size (1048576 bytes) (line 4)'],
    ['x_cache_header not a boolean', 'caches:\n  p: {x_cache_header: "yes"}\n', 'caches.p.x_cache_header: must be true or false (got "yes") (line 4)'],
    ['redis without its settings', 'caches:\n  p: {store: redis}\n', 'caches.p.redis: required with store: redis (at least `url`) (line 4)'],
    ['redis settings on a memory store', 'caches:\n  p:\n    redis: {url: "redis://h"}\n', 'caches.p.redis: applies to store: redis only (this cache has store: memory) (line 5)'],
    ['memory bounds on a redis store', 'caches:\n  p:\n    store: redis\n    max_entries: 5\n    redis: {url: "redis://h"}\n', 'caches.p.max_entries: applies to the memory store only (this cache has store: redis; Redis bounds its own memory with maxmemory) (line 6)'],
    ['a redis URL of another scheme', 'caches:\n  p: {store: redis, redis: {url: "rediss://h"}}\n', 'caches.p.redis.url: must start with redis:// (got "rediss://h"); TLS (rediss://) is not supported yet (line 4)'],
    ['a redis URL with a path', 'caches:\n  p: {store: redis, redis: {url: "redis://h/x"}}\n', 'caches.p.redis.url: the path may only be a database number, like redis://127.0.0.1:6379/2 (got "redis://h/x") (line 4)'],
    ['a key prefix with a glob character', 'caches:\n  p: {store: redis, redis: {url: "redis://h", key_prefix: "a*"}}\n', 'caches.p.redis.key_prefix: must not contain spaces or the glob characters * ? [ ] (got "a*") (line 4)'],
    ['a redis timeout without a unit', 'caches:\n  p: {store: redis, redis: {url: "redis://h", timeout: 5}}\n', 'caches.p.redis.timeout: needs a unit: write it like "2s" or "250ms", not a bare number (got 5) (line 4)'],
    ['a bad cache name', 'caches:\n  "a b": {}\n', 'caches.a b: cache name "a b" may only contain letters, digits, "_", "." and "-" (line 4)'],
    ['caches not a map', 'caches: [pages]\n', 'caches: must be a map of cache name -> settings (got a list) (line 3)'],
    ['a route naming an unknown cache, with a hint', 'caches: {pages: {}}\nroutes: [{upstream: app, cache: page}]\n', 'routes.0.cache: unknown cache "page"; did you mean "pages"? (line 4)'],
    ['a route naming a cache when there are none', 'routes: [{upstream: app, cache: pages}]\n', 'routes.0.cache: unknown cache "pages"; define it under `caches` (line 3)'],
  ])('%s', (_what, yaml, problem) => {
    expect(problemsOf(HEAD + yaml)).toEqual([problem])
  })
})
