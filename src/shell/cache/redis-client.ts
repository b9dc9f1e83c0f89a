// One way to connect to Redis, shared by the cache's Redis store (redis-store.ts) and the
// rate limits' (runtime/rate-limit-store.ts): the URL's host, port, database and
// credentials; every command bounded by the timeout and never retried (a failure is the
// caller's to count, and it falls back: a cache miss, a request let through); reconnects
// with a backoff capped at 2 s; commands queue only until the first connection is ready, so
// a Redis that goes away later fails them at once instead of piling them up.
import { Redis } from 'iovalkey'
import type { Logger } from '../observe/log.js'

/** `what` names the user in the debug line of a connection error ("cache store", "rate limit store"). */
export function redisClient(url: string, timeoutMs: number, log: Logger, what: string): Redis {
  const u = new URL(url)
  const client = new Redis({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 6379 : Number(u.port),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    enableOfflineQueue: true,
  })
  client.once('ready', () => { client.options.enableOfflineQueue = false })
  client.on('error', (err: Error) => log.debug({ err: err.message }, `${what}: Redis connection error`))
  return client
}
