// The validated configuration: every default filled in, durations in milliseconds,
// deep-frozen by the loader. YAML keys are snake_case; here they are camelCase, with
// the same words (see docs/configuration.md for the mapping).

import type { Cidr } from '../core/cidr.js'
import type { RetryOn } from '../core/retry-on.js'
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
  /** Peers whose X-Forwarded-For (and X-Forwarded-Proto) is believed; [] = none (default). */
  readonly trustedProxies: readonly Cidr[]
  /** Each connection starts with a PROXY v1/v2 header, whose source is the client; default false. */
  readonly proxyProtocol: boolean
  /** With workers > 1: each worker binds the port itself (SO_REUSEPORT) and the kernel spreads connections; default false (the primary accepts and hands each connection over). */
  readonly reusePort: boolean
  /** Present = an HTTPS listener (docs/tls.md); null = plain HTTP (default). */
  readonly tls: TlsConfig | null
  /** TLS listeners offer h2 by ALPN besides http/1.1; default true (meaningless without tls). */
  readonly http2: boolean
  /** Plain listeners: every request but an ACME challenge gets a 308 to https://; default false. */
  readonly redirectHttps: boolean
}

/** `listeners[].tls`: the certificates are read (and checked against their keys) at config load. */
export interface TlsConfig {
  /** Chosen by SNI: exact name, then wildcard, else the first. At least one unless `acme` is set. */
  readonly certificates: readonly TlsCertificateConfig[]
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3' // YAML "1.2" (default) or "1.3"
  /** `tls.acme`: certificates obtained and renewed from an ACME server (docs/tls.md#acme); null = none. */
  readonly acme: AcmeConfig | null
}

/** `listeners[].tls.acme` (RFC 8555): checked at load; the account and certificates live under `storage`. */
export interface AcmeConfig {
  readonly directory: string // https:// URL of the ACME directory
  readonly email: string | null // account contact (mailto:); null = none
  readonly domains: readonly string[] // DNS names of the certificate, lower case, the first is its name
  readonly storage: string // absolute directory: account key and certificates
  readonly caFile: string | null // PEM of the CAs that sign the ACME server's HTTPS certificate
  readonly ca: string | null // its text, read at load; null = the system's CAs
  readonly renewBeforeMs: number // renew when the certificate expires within this; default 30 days
}

export interface TlsCertificateConfig {
  readonly certFile: string // absolute path, as written
  readonly keyFile: string
  /** The PEM texts as read at load (leaf first, then the chain): a reload re-reads the files. */
  readonly cert: string
  readonly key: string
  /** DNS names of the leaf (subjectAltName, else CN), lower case; `*.example.com` for wildcards. */
  readonly names: readonly string[]
  /** The leaf's notAfter, Unix time in milliseconds. */
  readonly notAfterMs: number
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
  /** `token_file`: where the runtime API's bearer token is read from (at load and on reload); null: mutations answer 403. */
  readonly tokenFile: string | null
  /** The token read from it (trimmed); null without token_file. */
  readonly token: string | null
}

export interface ServerConfig {
  readonly url: string // normalised origin, e.g. "http://127.0.0.1:3001"; "unix:/run/app.sock" for a Unix socket
  readonly id: string // "host:port", the `server` metric label, e.g. "127.0.0.1:3001"; "unix:/run/app.sock" for a Unix socket
  readonly weight: number // 1..1000, default 1
  readonly maxRequests: number // in-flight cap (`max_requests`); 0 = none (default)
  /** A `unix:` server's socket path (absolute); absent for a TCP server. */
  readonly socketPath?: string
}

/**
 * A `servers[]` entry found by DNS at run time (docs/discovery.md): `dns: "name:port"` gives
 * one server per A/AAAA address, `srv: "_http._tcp.name"` one per address of each SRV
 * target, at the record's port and weight. Each becomes a ServerConfig (`http://ip:port`).
 */
export interface DiscoveryConfig {
  readonly kind: 'dns' | 'srv'
  readonly name: string // lower case, no trailing dot
  readonly port: number // dns: the port written; srv: 0 (each record gives its own)
  readonly weight: number // dns: 1..1000, default 1; srv: 0 (each record gives its own)
  readonly maxRequests: number // as servers[].max_requests, for each address
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
  /** The probes' Host header; null = the server's host:port (`localhost` for a Unix socket), the default. */
  readonly host: string | null
  /** Extra probe headers as [name, value] pairs, names as written; default none. */
  readonly headers: readonly (readonly [string, string])[]
}

export interface PassiveHealthConfig {
  readonly consecutiveFailures: number // default 3
  readonly ejectDurationMs: number // default 10s
}

export interface TimeoutsConfig {
  readonly connectMs: number // default 2s
  readonly responseHeadersMs: number // default 60s (nginx's proxy_read_timeout)
  readonly idleMs: number // default 60s
}

export interface UpstreamConfig {
  readonly name: string
  readonly balance: BalanceName
  /** The `url:` servers (fixed). */
  readonly servers: readonly ServerConfig[]
  /** The `dns:` and `srv:` servers, in the file's order; [] = none. */
  readonly discovery: readonly DiscoveryConfig[]
  /** The longest a DNS answer is trusted (TTLs are clamped to [1s, this]); default 30s. */
  readonly resolveIntervalMs: number
  /** The DNS server asked, "ip:port" (node:dns setServers form: "[::1]:53" for IPv6); null = the system's (default). */
  readonly resolver: string | null
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
  /** Requests wait here when every server is at max_requests; null = none (then 503 at once). */
  readonly queue: QueueConfig | null
  /** The retry_on conditions (core/retry-on.ts), default connect_failure and reset_before_response. */
  readonly retryOn: readonly RetryOn[]
  readonly retryBudget: RetryBudgetConfig
  /** TLS to https:// servers; null = the defaults (system CAs, verify, no client certificate). */
  readonly tls: UpstreamTlsConfig | null
  /** HTTP/2 to the servers (ALPN on https://, prior knowledge on http://); default false. */
  readonly http2: boolean
}

/** `upstreams.<name>.queue` (docs/proxying.md#concurrency-caps-and-the-queue). */
export interface QueueConfig {
  readonly size: number // waiting requests per worker process; default 100
  readonly timeoutMs: number // then 503; default 30s
}

/** `upstreams.<name>.retry_budget`: retries at most ratio x requests + min_per_second (per worker process). */
export interface RetryBudgetConfig {
  readonly ratio: number // 0..1, default 0.2
  readonly minPerSecond: number // default 10
}

/** `upstreams.<name>.tls`: files are read at load; their PEM text is kept. */
export interface UpstreamTlsConfig {
  readonly caFile: string | null // null = the system's CAs
  readonly ca: string | null
  readonly serverName: string | null // SNI and the name verified; null = the URL's host
  readonly verify: boolean // default true
  readonly certFile: string | null // client certificate (mTLS), with keyFile
  readonly cert: string | null
  readonly keyFile: string | null
  readonly key: string | null
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

/** `routes[].timeouts`: the route's overrides of its upstream's (absent = the upstream's). */
export interface RouteTimeoutsConfig {
  readonly responseHeadersMs?: number
  readonly idleMs?: number
}

export interface RouteConfig {
  /** `routes[].name`, default "route-<index>": the `route` field of the access log. */
  readonly name: string
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
  /** Present only when the route has `timeouts:` (absent: its upstream's). */
  readonly timeouts?: RouteTimeoutsConfig
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

/** log.access_log_format: JSON lines in pino's shape, or Apache's combined format. */
export const ACCESS_LOG_FORMATS = ['json', 'combined'] as const
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number]

export interface LogConfig {
  readonly level: LogLevel // default "info"
  readonly accessLog: boolean // default true
  readonly accessLogFormat: AccessLogFormat // default "json"
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
