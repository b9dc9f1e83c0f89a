// The `caches:` section: a map of name -> response cache (a store and its bounds). Routes
// name the cache they use (`routes[].cache`), so several routes can share one store and a
// store's settings are written once.

import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readEnum, readInt, readSize, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import type { CacheConfig, CacheStoreName, RedisStoreConfig } from './types.js'

const CACHE_NAME = /^[A-Za-z0-9_.-]+$/
const STORES: readonly CacheStoreName[] = ['memory', 'redis']
const CACHE_KEYS = ['store', 'max_size', 'max_entries', 'max_entry_size', 'x_cache_header', 'redis']
const REDIS_KEYS = ['url', 'key_prefix', 'timeout']
const MAX_BYTES = 1024 ** 4 // 1 TiB: more is a typo
/** Entries per memory store; the store keeps an index entry per response. */
const MAX_ENTRIES = 100_000_000

/** All caches in the file's order; `names` holds every key, valid or not (routes check against it). */
export function readCaches(c: Cursor): { caches: CacheConfig[]; names: Set<string> } {
  const names = new Set<string>()
  if (c.absent) return { caches: [], names }
  if (!(c.value instanceof Map)) {
    c.report(`must be a map of cache name -> settings (got ${describe(c.value)})`)
    return { caches: [], names }
  }
  const caches: CacheConfig[] = []
  for (const key of c.value.keys()) {
    const name = String(key)
    names.add(name)
    const entry = c.field(key)
    if (typeof key !== 'string') c.problems.atKey(entry.path, `cache name must be a string: quote it ("${name}")`)
    else if (!CACHE_NAME.test(name)) c.problems.atKey(entry.path, `cache name "${name}" may only contain letters, digits, "_", "." and "-"`)
    caches.push(readCache(entry, name))
  }
  return { caches, names }
}

function readCache(c: Cursor, name: string): CacheConfig {
  checkMap(c, CACHE_KEYS)
  const d = DEFAULTS.cache
  const store = readEnum(c.field('store'), STORES, d.store)
  const memoryOnly = (key: string): void => {
    const f = c.field(key)
    if (store !== 'memory' && !f.absent) f.report(`applies to the memory store only (this cache has store: ${store}; Redis bounds its own memory with maxmemory)`)
  }
  memoryOnly('max_size')
  memoryOnly('max_entries')
  const maxSize = readSize(c.field('max_size'), d.maxSize, { min: 1024, max: MAX_BYTES })
  const maxEntries = readInt(c.field('max_entries'), { min: 1, max: MAX_ENTRIES }, d.maxEntries)
  const entrySizeCursor = c.field('max_entry_size')
  const maxEntrySize = readSize(entrySizeCursor, Math.min(d.maxEntrySize, Number.isNaN(maxSize) ? d.maxEntrySize : maxSize), { min: 1, max: MAX_BYTES })
  if (store === 'memory' && maxEntrySize > maxSize) entrySizeCursor.report(`must not be larger than max_size (${maxSize} bytes)`)
  const redisCursor = c.field('redis')
  let redis: RedisStoreConfig | null = null
  if (store === 'redis') redis = readRedis(redisCursor)
  else if (!redisCursor.absent) redisCursor.report('applies to store: redis only (this cache has store: memory)')
  return { name, store, maxSize, maxEntries, maxEntrySize, xCacheHeader: readBool(c.field('x_cache_header'), d.xCacheHeader), redis }
}

function readRedis(c: Cursor): RedisStoreConfig {
  if (c.absent) return { url: c.missing('', 'required with store: redis (at least `url`)'), keyPrefix: DEFAULTS.cache.redisKeyPrefix, timeoutMs: DEFAULTS.cache.redisTimeoutMs }
  checkMap(c, REDIS_KEYS)
  const urlCursor = c.field('url')
  const url = readString(urlCursor, REQUIRED)
  if (url !== '') {
    const problem = redisUrlProblem(url)
    if (problem !== undefined) urlCursor.report(problem)
  }
  const prefixCursor = c.field('key_prefix')
  const keyPrefix = prefixCursor.absent ? DEFAULTS.cache.redisKeyPrefix : typeof prefixCursor.value === 'string' ? prefixCursor.value : ''
  if (!prefixCursor.absent && typeof prefixCursor.value !== 'string') prefixCursor.report(`must be a string (got ${describe(prefixCursor.value)})`)
  else if (/[*?[\]\s]/.test(keyPrefix)) prefixCursor.report(`must not contain spaces or the glob characters * ? [ ] (got ${describe(keyPrefix)})`)
  return { url, keyPrefix, timeoutMs: readDuration(c.field('timeout'), DEFAULTS.cache.redisTimeoutMs) }
}

/** `redis://[user:password@]host[:port][/db]`; undefined when fine. */
export function redisUrlProblem(raw: string): string | undefined {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return `must be a URL like redis://127.0.0.1:6379 (got ${describe(raw)})`
  }
  if (u.protocol !== 'redis:') return `must start with redis:// (got ${describe(raw)}); TLS (rediss://) is not supported yet`
  if (u.hostname === '') return `must name a host, like redis://127.0.0.1:6379 (got ${describe(raw)})`
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) return `the path may only be a database number, like redis://127.0.0.1:6379/2 (got ${describe(raw)})`
  if (u.search !== '' || u.hash !== '') return `must not have a query or fragment (got ${describe(raw)})`
  return undefined
}
