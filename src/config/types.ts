// The validated configuration: every default filled in, durations in milliseconds,
// deep-frozen by the loader. YAML keys are snake_case; here they are camelCase, with
// the same words (see docs/configuration.md for the mapping).

import type { ErrorPagesConfig, RoutePoliciesConfig } from './policy-types.js'

export type BalanceName = 'round_robin' | 'least_connections' | 'ip_hash' | 'hash' | 'random_two'

/** What `balance: hash` hashes (`hash_key`); `name` is lower-cased for a header, as written for a cookie, '' otherwise. */
export interface HashKeyConfig {
  readonly source: 'client_ip' | 'path' | 'header' | 'cookie'
  readonly name: string
}

/** `sticky`: a cookie pins a client to the server that answered it. */
export interface StickyConfig {
  readonly cookie: string // default "sy_server"
  readonly maxAgeMs: number | null // null = a session cookie (default)
}

export interface ListenerConfig {
  readonly name: string // default "listener-<index>"
  readonly address: string // default "0.0.0.0"
  readonly port: number // 1..65535 (0 allowed: any free port, for tests)
  readonly maxConnections: number // concurrent client connections; 0 = no cap (default)
  readonly maxConnectionsPerClient: number // concurrent connections per client address, per process; 0 = no cap (default)
  readonly maxBodySize: number // bytes; 0 = no cap (default); larger bodies get 413
  readonly maxHeaderSize: number // bytes of request head; default 16 KiB; larger heads get 431
  readonly timeouts: ListenerTimeoutsConfig
}

export interface ListenerTimeoutsConfig {
  readonly requestHeadMs: number // the whole request head must arrive within; default 10s (408)
  readonly requestMs: number // the whole request, body included, within; default 5m (408)
  readonly keepAliveMs: number // idle client keep-alive connections close after; default 75s
}

export interface AdminConfig {
  readonly address: string // default "127.0.0.1"
  readonly port: number // default 9090
  /** Per-request series (requests_total, request_duration_seconds); default true. */
  readonly requestMetrics: boolean
}

export interface ServerConfig {
  readonly url: string // normalised origin, e.g. "http://127.0.0.1:3001"
  readonly id: string // "host:port", the `server` metric label, e.g. "127.0.0.1:3001"
  readonly weight: number // 1..1000, default 1
}

/** Inclusive status code ranges; a single code c is [c, c]. */
export type StatusRanges = readonly (readonly [number, number])[]

export interface HealthCheckConfig {
  readonly path: string // default "/health"
  readonly intervalMs: number // default 2s
  readonly timeoutMs: number // default 1s
  readonly healthyThreshold: number // default 2
  readonly unhealthyThreshold: number // default 2
  readonly expectedStatus: StatusRanges // default 200-399
}

export interface PassiveHealthConfig {
  readonly consecutiveFailures: number // default 3
  readonly ejectDurationMs: number // default 10s
}

export interface TimeoutsConfig {
  readonly connectMs: number // default 2s
  readonly responseHeadersMs: number // default 30s
  readonly idleMs: number // default 60s
}

export interface UpstreamConfig {
  readonly name: string
  readonly balance: BalanceName
  readonly servers: readonly ServerConfig[]
  readonly maxConnectionsPerServer: number // default 128
  readonly retries: number // default 2
  readonly timeouts: TimeoutsConfig
  readonly healthCheck: HealthCheckConfig | null // null = no active checks
  readonly passiveHealth: PassiveHealthConfig
  readonly hashKey: HashKeyConfig | null // set exactly when balance is "hash"
  readonly sticky: StickyConfig | null // null = no sticky cookie (default)
  readonly slowStartMs: number // 0 = off (default)
  /** Present only when `buffering:` is written (absent: nothing is buffered). */
  readonly buffering?: BufferingConfig
}

/** `upstreams.<name>.buffering` (docs/proxying.md#buffering). */
export interface BufferingConfig {
  readonly request: boolean // read the whole body before a server is chosen; default false
  readonly response: boolean // read the server's answer at its speed, feed the client from a spool; default false
  readonly memory: number // bytes of a spool kept in memory, then a temp file; default 64 KiB
  readonly tempDir: string // absolute, an existing writable directory; default the OS temp dir
  readonly maxTempSize: number // bytes: a response spool's bound (memory included), then it streams; default 1 GiB
}

/** `routes[].buffering`: the route's switches over its upstream's (absent = the upstream's). */
export interface RouteBufferingConfig {
  readonly request?: boolean
  readonly response?: boolean
}

export interface RouteConfig {
  /** Lower-cased; exact ("api.example.com") or leading wildcard ("*.example.com"); null = any host. */
  readonly host: string | null
  /** Starts with "/"; no trailing slash except for "/" itself. Default "/". */
  readonly pathPrefix: string
  /** The upstream that serves the route; null on a static route. */
  readonly upstream: string | null
  /** Present on a static route only (a route has `upstream` or `static`, never both). */
  readonly static?: StaticConfig
  /** The name of an entry of `caches`; null = responses of this route are not cached (default, and always on a static route). */
  readonly cache: string | null
  /** Present only when the route has `buffering:` (absent: its upstream's buffering). */
  readonly buffering?: RouteBufferingConfig
  /** Present only when the route writes a policy key (config/policies.ts); a redirect route may have neither upstream nor static. */
  readonly policies?: RoutePoliciesConfig
}

export interface StaticConfig {
  /** As written (absolute, normalised): the `server` label and access log field of its requests. */
  readonly root: string
  /** root with every symlink resolved at config load: files are served from here, and only from inside it. */
  readonly realRoot: string
  readonly cacheControl: string | null // null = no Cache-Control header (default)
  readonly index: string | null // null = directories get 404 (default); else the file that answers for one
  readonly precompressed: boolean // serve a `.br` / `.gz` sibling the client accepts; default false
  readonly fileCache: FileCacheConfig | null // null = `file_cache: false`: every request looks at the disk
}

/** A static route's open-file cache (nginx's open_file_cache, with small files' bytes). */
export interface FileCacheConfig {
  readonly maxFileSize: number // bytes; files up to this are answered from memory; default 256 KiB
  readonly maxSize: number // bytes of file bodies kept per route; default 32 MiB
  readonly maxEntries: number // paths remembered per route (missing ones too); default 10000
  readonly validMs: number // a lookup older than this is checked again; default 1s
}

export type CacheStoreName = 'memory' | 'redis'

export interface RedisStoreConfig {
  readonly url: string // "redis://host:port[/db]", required
  readonly keyPrefix: string // default "switchyard:"; instances that share a cache use the same one
  readonly timeoutMs: number // default 500ms: connect and command limit, then the cache is bypassed
}

export interface CacheConfig {
  readonly name: string
  readonly store: CacheStoreName // default "memory"
  readonly maxSize: number // bytes, memory store only; default 64 MiB
  readonly maxEntries: number // memory store only; default 10000
  readonly maxEntrySize: number // bytes; larger responses are passed on, not stored; default 5 MiB
  readonly xCacheHeader: boolean // X-Cache: HIT|MISS|STALE|BYPASS on responses; default true
  readonly redis: RedisStoreConfig | null // set exactly when store is "redis"
}

/** The one list of log levels (pino's), for the config, LOG_LEVEL and the docs. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface LogConfig {
  readonly level: LogLevel // default "info"
  readonly accessLog: boolean // default true
}

export interface Config {
  readonly listeners: readonly ListenerConfig[]
  readonly admin: AdminConfig
  readonly workers: number | 'auto' // default 1
  readonly shutdownTimeoutMs: number // default 30s
  readonly log: LogConfig
  /** In the file's order. */
  readonly upstreams: readonly UpstreamConfig[]
  /** Named response caches, in the file's order; routes refer to them by name. */
  readonly caches: readonly CacheConfig[]
  /** When the file has no `routes` and exactly one upstream: one route "/" to it. */
  readonly routes: readonly RouteConfig[]
  /** Top-level `error_pages`: every route's default (null: none). */
  readonly errorPages: ErrorPagesConfig | null
}

/** One problem in a config file. Printed as `path: message (line N)`. */
export interface ConfigProblem {
  readonly path: string // "upstreams.app.servers.0.url"; "" for the document itself
  readonly message: string
  readonly line?: number // 1-based, where known
}

export type LoadResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] }
