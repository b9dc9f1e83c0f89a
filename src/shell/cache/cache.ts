// One `caches:` entry: its store, memory or Redis, kept across reloads while its settings
// are unchanged, and shared by the routes that name it. What is stored and reused is decided
// by core/cache-rules.ts; request/cached-exchange.ts looks responses up and request/fill.ts
// brings them in.
import type { CacheConfig } from '../../config/types.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'

export class Cache {
  readonly name: string
  readonly config: CacheConfig
  readonly settingsKey: string
  readonly store: MemoryStore | RedisStore
  /** Moves on every purge: a fill that started before it does not store its response. */
  generation = 0

  constructor(config: CacheConfig, log: Logger, metrics: Metrics) {
    this.name = config.name
    this.config = config
    this.settingsKey = Cache.settingsKey(config)
    if (config.redis === null) {
      this.store = new MemoryStore({ maxSize: config.maxSize, maxEntries: config.maxEntries, maxEntrySize: config.maxEntrySize })
    } else {
      const errors = metrics.cacheRedisErrors.labels(config.name)
      errors.inc(0)
      this.store = new RedisStore(config.redis, config.maxEntrySize, log.child({ cache: config.name }), () => errors.inc())
    }
  }

  /** false while a Redis store fails: requests go to a server without the cache. */
  get usable(): boolean {
    return this.store instanceof MemoryStore || this.store.up
  }

  /** Drops one URL (every Vary variant; HEAD is answered from GET's), or everything when url is null. */
  async purge(url: URL | null): Promise<void> {
    this.generation++
    if (url === null) await this.store.clear()
    else await this.store.delete(`${url.origin}${url.pathname}${url.search}`)
  }

  async close(): Promise<void> {
    await this.store.close()
  }

  /** The gauges' view: bytes and entries of a memory store, whether the store answers. */
  gauges(): { cache: string; bytes: number | null; entries: number | null; up: boolean } {
    const s = this.store
    return s instanceof MemoryStore ? { cache: this.name, bytes: s.bytes, entries: s.entries, up: true } : { cache: this.name, bytes: null, entries: null, up: s.up }
  }

  static settingsKey(c: CacheConfig): string {
    return JSON.stringify(c)
  }
}
