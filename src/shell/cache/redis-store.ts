// The `store: redis` cache store: undici-cache-redis's RedisCacheStore (several switchyard
// instances share one cache), wrapped so that Redis trouble never fails a request.
// - The client is set up to fail fast: every command and the connect are limited by
//   `redis.timeout`, and the commands waiting for a connection are failed at each failed
//   connection attempt (maxRetriesPerRequest: 0).
// - RedisCacheStore reports every Redis error to a callback and answers a failed lookup
//   as a miss. The first error marks the store down: requests then bypass the cache
//   (X-Cache: BYPASS) without touching Redis, one log line says so, and a probe lookup
//   runs every second until one succeeds (another log line). Every error counts in
//   switchyard_cache_redis_errors_total.
// - The probe is a read, and that is enough: with tracking off the library has one
//   connection for reads and writes, so a read that succeeds means writes go out again.
// - While the store is down nothing is written, not even the response of the request
//   whose lookup just failed (see createWriteStream).
// - Client-side tracking (the library's in-process copy of Redis entries, kept in step by
//   invalidation messages) is off: its invalidations are not re-subscribed after Redis
//   restarts, so a purge by another instance could go unseen.
import { RedisCacheStore } from 'undici-cache-redis'
import type { RedisStoreConfig } from '../../config/types.js'
import type { CacheKey, CacheStore, CacheValue, GetResult } from './memory-store.js'
import type { Logger } from '../observe/log.js'

const PROBE_EVERY_MS = 1000
/** A key no response is stored under: a lookup of it only tells whether Redis answers. */
const PROBE_KEY: CacheKey = { origin: 'switchyard-probe:', method: 'GET', path: '/' }

export class RedisStore implements CacheStore {
  readonly #store: RedisCacheStore
  readonly #log: Logger
  readonly #onError: () => void
  /** false while Redis fails: the cache is bypassed. */
  up = true
  #errors = 0
  #probe: NodeJS.Timeout | null = null
  #closed = false

  constructor(cfg: RedisStoreConfig, maxEntrySize: number, log: Logger, onError: () => void) {
    this.#log = log
    this.#onError = onError
    const u = new URL(cfg.url)
    this.#store = new RedisCacheStore({
      tracking: false,
      maxEntrySize,
      errorCallback: (err) => this.#failed(err),
      clientOpts: {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port === '' ? 6379 : Number(u.port),
        db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
        ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
        ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
        keyPrefix: cfg.keyPrefix,
        connectTimeout: cfg.timeoutMs,
        commandTimeout: cfg.timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: (times: number) => Math.min(times * 200, 2000),
      },
    })
  }

  get(key: CacheKey): Promise<GetResult | undefined> {
    return this.#store.get(key) as Promise<GetResult | undefined>
  }

  /**
   * undefined (undici then stores nothing) while the store is down. Why: a command sent
   * while the client has no connection waits in iovalkey's offline queue; `redis.timeout`
   * rejects its promise but leaves it queued, and the queue is only emptied by the next
   * failed connection attempt (up to 2 s away). If Redis is back by then, the queue is
   * sent on the new connection. The request whose lookup failed (marking the store
   * down) goes on to the server as a miss and would queue its write: seen with
   * `redis-cli monitor`, that write landed after the restart, before the probe had even
   * said Redis was back, and possibly after a purge made once Redis was back. The
   * library cannot tell us either: a failed pipeline resolves with the errors in its
   * results, so the write never reaches errorCallback.
   */
  createWriteStream(key: CacheKey, value: CacheValue): ReturnType<CacheStore['createWriteStream']> {
    if (!this.up) return undefined
    return this.#store.createWriteStream(key, value as Parameters<RedisCacheStore['createWriteStream']>[1])
  }

  async delete(key: CacheKey): Promise<void> {
    await this.#store.delete(key)
  }

  /**
   * Drops every entry under this key prefix. The library deletes a URL by a SCAN pattern
   * built from origin and path, and a glob `*` passes its encoding unchanged: so origin
   * and path `*` match every entry.
   */
  async clear(): Promise<void> {
    await this.#store.delete({ origin: '*', method: 'GET', path: '*' })
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#probe !== null) clearInterval(this.#probe)
    await this.#store.close()
  }

  #failed(err: Error): void {
    this.#errors++
    this.#onError()
    if (!this.up || this.#closed) return
    this.up = false
    this.#log.warn({ err: err.message }, 'cache store down: Redis failed, requests bypass the cache until it answers again')
    this.#probe = setInterval(() => void this.#tryProbe(), PROBE_EVERY_MS)
    this.#probe.unref()
  }

  async #tryProbe(): Promise<void> {
    const before = this.#errors
    await this.#store.get(PROBE_KEY)
    if (this.#errors !== before || this.up || this.#closed) return
    this.up = true
    if (this.#probe !== null) clearInterval(this.#probe)
    this.#probe = null
    this.#log.info('cache store up: Redis answers again, the cache is used again')
  }
}
