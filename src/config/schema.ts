// The JSON Schema (draft 2020-12) of the config file, for editors: `switchyard schema` prints
// it and config/switchyard.schema.json ships the same bytes, so VS Code (yaml-language-server)
// completes keys, shows each one's meaning and flags typos as they are typed.
// The loader (the readers of this folder) stays the authority: it also checks what a schema
// cannot say (files on disk, upstream and cache names, duplicate ports...). The schema says
// everything else the loader says, in its words: unknown keys are errors everywhere
// (`additionalProperties: false`), an empty value (`key:`, `key: ~`) of an optional key takes
// the default (so every optional key also accepts null), durations and sizes are patterns,
// counts are integer ranges. test/config/schema.test.ts keeps the two in step (the loader's
// key lists against this schema's), and both are fed the loader's fuzz corpus
// (test/fuzz/config-fuzz.test.ts) and configs drawn from this schema (schema-fuzz.test.ts).
// Editors: yaml-language-server (VS Code's YAML extension) validates with draft-07 semantics, so
// only keywords that mean the same in both are used (no $ref with validating siblings: nullable
// refs are `anyOf: [$ref, null]`; no dependentRequired); the test checks it.
// Keys marked PENDING below are in the contract (sections 6-9) but not read by this loader yet;
// they are here so the schema is ready when they land (the test lists them too).

import { LOG_LEVELS, type BalanceName } from './types.js'
import { ERROR_PAGE_STATUSES } from './policy-types.js'
import { RETRY_ON } from '../core/retry-on.js'
import { REDIRECT_STATUSES } from '../core/policies/redirect.js'

type Schema = { readonly [keyword: string]: unknown }

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const TIB = 1024 ** 4

/** As parseDuration reads it (duration.ts), and not zero. */
const DURATION = '^(?=[^1-9]*[1-9])[0-9]+(\\.[0-9]+)?(ms|s|m|h)$'
/** As parseSize reads a string (size.ts): it trims, then a number and an optional k, m or g (and b). */
const SIZE = '^\\s*[0-9]+(\\.[0-9]+)?\\s*[kmgKMG]?[bB]?\\s*$'
/** RFC 9110 token: header names and cookie names. */
const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
const TOKEN_PART = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
/** Upstream, cache and route names: they become metric label values and log fields. */
const NAME = '^[A-Za-z0-9_.-]+$'
const ABSOLUTE_PATH = '^/'

// ---- helpers -----------------------------------------------------------------------------

const ref = (name: string): Schema => ({ $ref: `#/$defs/${name}` })
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', minLength: 1, description, ...extra })
const bool = (description: string, def: boolean): Schema => ({ type: 'boolean', default: def, description })
const int = (description: string, minimum: number, maximum: number, def?: number): Schema =>
  ({ type: 'integer', minimum, maximum, ...(def === undefined ? {} : { default: def }), description })
const oneOfValues = (description: string, values: readonly unknown[], def?: unknown): Schema =>
  ({ enum: [...values], ...(def === undefined ? {} : { default: def }), description })
const duration = (description: string, def?: string): Schema => ({ ...ref('duration'), ...(def === undefined ? {} : { default: def }), description })
const path = (description: string): Schema => str(description, { pattern: ABSOLUTE_PATH })
/** A size (size.ts): bytes as an integer, or a string with a unit; `min`/`max` bound the integer form (the loader bounds both). */
const size = (description: string, min: number, max: number, def?: string | number): Schema => ({
  type: ['integer', 'string'], minimum: min, maximum: max, pattern: SIZE, ...(def === undefined ? {} : { default: def }), description,
})
const list = (description: string, items: Schema, minItems = 0): Schema => ({ type: 'array', ...(minItems > 0 ? { minItems } : {}), items, description })

/** The same schema that also accepts null: the loader reads `key:` and `key: ~` as absent. */
function orNull(s: Schema): Schema {
  if (typeof s.$ref === 'string') {
    const { $ref, ...rest } = s
    return { ...rest, anyOf: [{ $ref }, { type: 'null' }] }
  }
  if (Array.isArray(s.enum)) return { ...s, enum: [...(s.enum as unknown[]), null] }
  if (typeof s.type === 'string') return { ...s, type: [s.type, 'null'] }
  if (Array.isArray(s.type)) return { ...s, type: [...(s.type as string[]), 'null'] }
  if (Array.isArray(s.oneOf)) return { ...s, oneOf: [...(s.oneOf as Schema[]), { type: 'null' }] }
  throw new Error(`orNull: a schema without type, enum, oneOf or $ref: ${JSON.stringify(s)}`)
}

interface MapOptions {
  /** Keys that must be there with a value. */
  readonly required?: readonly string[]
  /** Optional keys for which an empty value is not the default (the loader refuses it). */
  readonly notNull?: readonly string[]
  /** More keywords: if/then/else, anyOf... */
  readonly extra?: Schema
}

/** A map with exactly these keys, as checkMap (fields.ts) reads it. Optional keys accept null. */
function map(description: string, keys: Record<string, Schema>, options: MapOptions = {}): Schema {
  const required = options.required ?? []
  const notNull = new Set([...required, ...(options.notNull ?? [])])
  const properties = Object.fromEntries(Object.entries(keys).map(([k, s]) => [k, notNull.has(k) ? s : orNull(s)]))
  return {
    type: 'object',
    description,
    properties,
    additionalProperties: false,
    ...(required.length > 0 ? { required: [...required] } : {}),
    ...options.extra,
  }
}

/** A map of names the operator chooses -> `value` (upstreams, caches, headers...). */
function dict(description: string, names: Schema, value: Schema, minProperties = 0): Schema {
  return { type: 'object', description, propertyNames: names, additionalProperties: value, ...(minProperties > 0 ? { minProperties } : {}) }
}

// ---- shared shapes ($defs) -----------------------------------------------------------------

const DEFS: Record<string, Schema> = {
  duration: {
    type: 'string',
    pattern: DURATION,
    description: 'A duration with a unit: ms, s, m or h, fractions allowed ("250ms", "1.5s", "2m", "1h"); greater than 0, at most 596h. A bare number is an error.',
  },
  cidrs: list('IPv4 and IPv6 addresses or CIDR ranges, such as [10.0.0.0/8, "::1"].', str('An address or a CIDR range (10.0.0.0/8, 192.168.1.7, "2001:db8::/32").', {
    pattern: '^\\s*[^\\s/]+(/[0-9]{1,3})?\\s*$',
  })),
  headerName: { type: 'string', pattern: TOKEN, description: 'A header name (an RFC 9110 token).' },
  headerValues: dict('A map of header name -> value.', ref('headerName'), {
    type: ['string', 'number', 'boolean'],
    pattern: '^[\\t\\x20-\\x7e\\x80-\\xff]*$',
    description: 'The header value: one line, no control characters.',
  }),
  headerRules: map('Header rules: `set` replaces, `add` appends, `remove` drops. Framing and hop-by-hop headers and X-Request-Id are refused; Host only with `set` on requests.', {
    set: { ...ref('headerValues'), description: 'Headers set (replacing any the message has): { NAME: VALUE }.' },
    add: { ...ref('headerValues'), description: 'Headers added (besides any the message has): { NAME: VALUE }.' },
    remove: list('Header names removed.', ref('headerName')),
  }),
  errorPages: dict(
    `Status -> absolute path of an HTML file, the page of an answer switchyard gives itself (${ERROR_PAGE_STATUSES.join(', ')}); read at load, at most 1 MiB.`,
    { type: 'string', pattern: `^(${ERROR_PAGE_STATUSES.join('|')})$` },
    path('Absolute path of the HTML page.'),
  ),
}

// ---- listeners and admin ---------------------------------------------------------------------

const CERTIFICATE = map('A certificate and its key, read at load and on every reload.', {
  cert_file: path('Absolute path of a PEM file: the leaf first, then the chain.'),
  key_file: path('Absolute path of the unencrypted PEM private key of that certificate.'),
}, { required: ['cert_file', 'key_file'] })

// The keys of tls.acme (config/acme.ts).
const ACME = map('Obtain and renew the certificates by ACME (RFC 8555, HTTP-01); with it, certificates are optional.', {
  directory: str('The https:// URL of the ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory.'),
  email: str('The account contact address.', { pattern: '^[^\\s@]+@[^\\s@]+$' }),
  domains: list('The DNS names of the certificate (no wildcards: HTTP-01).', str('A DNS name.'), 1),
  storage: path('Directory of the account key and certificates (survives restarts); made if missing.'),
  ca_file: path('A PEM file of CAs to trust for a private ACME server.'),
  renew_before: duration('Renew a certificate this long before it expires (at most a year).', '720h'),
}, { required: ['directory', 'domains', 'storage'] })

const TLS = map('Present = an HTTPS listener.', {
  certificates: list('The certificates, chosen by SNI: an exact name, then a wildcard, else the first.', CERTIFICATE, 1),
  min_version: oneOfValues('The oldest TLS version accepted: "1.2" (default) or "1.3".', ['1.2', '1.3', 1.2, 1.3], '1.2'),
  acme: ACME,
}, {
  extra: {
    anyOf: [
      { required: ['certificates'], properties: { certificates: { type: 'array' } } },
      { required: ['acme'], properties: { acme: { type: 'object' } } },
    ],
  },
})

const LISTENER = map('A client-facing listener.', {
  name: str('The name used in logs and metrics; default "listener-<index>"; unique.'),
  address: str('An IPv4 or IPv6 literal, or a hostname; IPv6 without brackets ("::"). Default 0.0.0.0.', { default: '0.0.0.0' }),
  port: int('0-65535; 0 asks the OS for any free port. Two listeners may not share a port.', 0, 65535),
  max_connections: int('Concurrent client connections; 0 = no cap (default).', 0, MAX_SAFE, 0),
  max_connections_per_client: int('Concurrent connections per client address, per process; 0 = no cap (default).', 0, MAX_SAFE, 0),
  max_body_size: size('Largest request body (a size such as "10m"); larger ones get 413. 0 = no cap (default).', 0, MAX_SAFE, 0),
  max_header_size: size('Largest request head, 1k to 1m; larger ones get 431. Default 16k.', 1024, 1024 ** 2, '16k'),
  timeouts: map('Client-side timeouts.', {
    request_head: duration('The whole request head must arrive within this, else 408.', '10s'),
    request: duration('The whole request, body included, else 408; not shorter than request_head.', '5m'),
    keep_alive: duration('An idle client keep-alive connection is closed after this.', '75s'),
  }),
  trusted_proxies: { ...ref('cidrs'), description: 'Peers whose X-Forwarded-For and X-Forwarded-Proto are believed; default none.' },
  proxy_protocol: bool('Every connection starts with a PROXY protocol v1 or v2 header, whose source is the client address.', false),
  tls: TLS,
  http2: bool('TLS listeners: offer h2 besides http/1.1 by ALPN. true on a plain listener is an error (no h2c).', true),
  redirect_https: bool('Plain listeners: every request but ACME challenges gets a 308 to https://; an error on a TLS listener.', false),
  reuse_port: bool('With workers > 1: each worker binds the port itself (SO_REUSEPORT) instead of the primary handing connections over; needs a fixed port (not 0).', false),
}, {
  required: ['port'],
  extra: {
    // reuse_port: true needs a fixed port: with port 0 every worker would get a different one.
    if: { required: ['reuse_port'], properties: { reuse_port: { const: true } } },
    then: { properties: { port: { type: 'integer', minimum: 1 } } },
  },
})

const ADMIN = map('The admin side port: /metrics, /healthz, /readyz, /status.', {
  address: str('Where the admin port listens; default 127.0.0.1 (never public unless asked for).', { default: '127.0.0.1' }),
  port: int('Must differ from every listener port; 0 = any free port. Default 9090.', 0, 65535, 9090),
  request_metrics: bool('false stops recording switchyard_requests_total and switchyard_request_duration_seconds.', true),
  token_file: path('A file holding the bearer token of the runtime API\'s mutations; absent = they answer 403.'),
})

const LOG = map('Log level and access log.', {
  level: oneOfValues('The log level; the environment variable LOG_LEVEL overrides it.', LOG_LEVELS, 'info'),
  access_log: bool('One line per request.', true),
  access_log_format: oneOfValues('json (default) or combined (Apache/nginx combined).', ['json', 'combined'], 'json'),
})

// ---- upstreams ---------------------------------------------------------------------------------

const STATUS_CODE: Schema = { type: 'integer', minimum: 100, maximum: 599, description: 'A status code.' }
const STATUS_RANGE: Schema = { type: 'string', pattern: '^\\s*[1-5][0-9][0-9]\\s*(-\\s*[1-5][0-9][0-9]\\s*)?$', description: 'A status code or a range such as "200-399".' }

const HEALTH_CHECK = map('Active health checks; absent = none, {} = every default.', {
  path: str('The probe path: starts with "/", no spaces or "#".', { pattern: '^/[^\\s#]*$', default: '/health' }),
  interval: duration('Time between two probes of a server.', '2s'),
  timeout: duration('A probe, body included, must succeed within this.', '1s'),
  healthy_threshold: int('Consecutive successful probes that make a server healthy.', 1, MAX_SAFE, 2),
  unhealthy_threshold: int('Consecutive failed probes that make a server unhealthy.', 1, MAX_SAFE, 2),
  expected_status: {
    oneOf: [STATUS_CODE, STATUS_RANGE, list('Status codes and ranges.', { oneOf: [STATUS_CODE, STATUS_RANGE] }, 1)],
    default: '200-399',
    description: 'A status code (204), a range ("200-399"), or a list of them; codes 100-599.',
  },
  host: str('The probes\' Host header: a hostname or IP with an optional port; default the server\'s host:port.'),
  headers: { ...ref('headerValues'), description: 'Extra probe headers, { X-Probe: "1" }; Host, framing and hop-by-hop headers are refused.' },
})

const SERVER = map('A server (backend): exactly one of url, dns and srv.', {
  url: str('http://host:port or https://host:port (no path, query or credentials), or unix:/absolute/path.'),
  dns: str('host:port: one server per A/AAAA address, re-resolved.', { pattern: '^[^\\s/]+:[0-9]{1,5}$' }),
  srv: str('An SRV name such as _http._tcp.app.service.consul: one server per record, re-resolved.'),
  weight: int('1-1000.', 1, 1000, 1),
  max_requests: int('The most requests in flight to this server, per worker process; 0 = no cap (default).', 0, 1_000_000, 0),
}, {
  extra: {
    oneOf: ['url', 'dns', 'srv'].map((k) => ({ required: [k], properties: { [k]: { type: 'string' } } })),
    // An srv: server takes each SRV record's weight: its own is left out (or empty).
    if: { required: ['srv'], properties: { srv: { type: 'string' } } },
    then: { properties: { weight: { type: 'null' } } },
  },
})

/** Every BalanceName, once (the compiler says when one is added to types.ts and not here). */
const BALANCES = Object.keys({ round_robin: 0, least_connections: 0, ip_hash: 0, hash: 0, random_two: 0 } satisfies Record<BalanceName, 0>)

const UPSTREAM = map('A named group of servers.', {
  balance: oneOfValues('How a server is picked.', BALANCES, 'round_robin'),
  servers: list('The servers of the upstream; at least one.', SERVER, 1),
  max_connections_per_server: int('Size of each server\'s connection pool.', 1, MAX_SAFE, 128),
  retries: int('Extra attempts, each on another server when one is left, only when safe.', 0, 10, 2),
  timeouts: map('Timeouts towards the servers.', {
    connect: duration('TCP connect to a server; past it, 504 unless a retry succeeds.', '2s'),
    response_headers: duration('No response head by then: 504 (nginx\'s proxy_read_timeout).', '60s'),
    idle: duration('No body bytes either way for this long: the exchange is aborted.', '60s'),
  }),
  health_check: HEALTH_CHECK,
  passive_health: map('Passive health: always on.', {
    consecutive_failures: int('Connect errors, resets or timeouts in a row that eject a server.', 1, MAX_SAFE, 3),
    eject_duration: duration('How long the first ejection lasts.', '10s'),
  }),
  hash_key: str('What balance: hash hashes: client_ip, path, header:NAME or cookie:NAME. Required with balance: hash, refused otherwise.', {
    pattern: `^(client_ip|path|header:${TOKEN_PART}|cookie:${TOKEN_PART})$`,
  }),
  sticky: map('A cookie pins each client to a server, on any balance; {} = every default.', {
    cookie: str('The cookie\'s name.', { pattern: TOKEN, default: 'sy_server' }),
    max_age: duration('The cookie\'s Max-Age; absent = a session cookie.'),
  }),
  slow_start: duration('A server that joins ramps from ~0 to its weight over this; absent = off.'),
  buffering: map('Request and response buffering; absent = nothing buffered.', {
    request: bool('Read the whole request body before a server is chosen.', false),
    response: bool('Read the server\'s answer at its speed, free the server, feed the client from a spool.', false),
    memory: size('Bytes of a body kept in memory per request, then a temp file; at most max_temp_size.', 0, TIB, '64k'),
    temp_dir: path('Absolute path of an existing directory this process can write; default the OS temp dir.'),
    max_temp_size: size('The most a response spool holds; past it the response streams. 0: never spooled.', 0, TIB, '1g'),
  }),
  queue: map('Where requests wait when every server is at its max_requests; {} = every default.', {
    size: int('Waiting requests, per worker process; past it, 503 at once.', 1, 1_000_000, 100),
    timeout: duration('A request that waited this long without a server slot gets 503.', '30s'),
  }),
  retry_on: list('The failures that may be retried; [] = never. Default [connect_failure, reset_before_response].', oneOfValues(
    'A failure that may be retried.',
    [...RETRY_ON, ...RETRY_ON.filter((r) => /^\d+$/.test(r)).map(Number)],
  )),
  retry_budget: map('Retries at most `ratio` of the requests plus `min_per_second`, per worker process.', {
    ratio: { type: 'number', minimum: 0, maximum: 1, default: 0.2, description: 'A number from 0 to 1.' },
    min_per_second: int('Retries always allowed per second on top of the ratio.', 0, 1_000_000, 10),
  }),
  tls: map('How https:// servers are verified; an error on an upstream without an https:// server.', {
    ca_file: path('PEM file of the CAs that sign the servers\' certificates; default the system\'s.'),
    server_name: str('The name verified in the server\'s certificate and sent as SNI; default the URL\'s host.'),
    verify: bool('false accepts any certificate.', true),
    cert_file: path('A client certificate (PEM, leaf first) for servers that require one (mTLS); with key_file.'),
    key_file: path('The client certificate\'s private key; with cert_file.'),
  }, {
    // cert_file and key_file: both or neither.
    extra: { allOf: [['cert_file', 'key_file'], ['key_file', 'cert_file']].map(([a, b]) => ({
      if: { required: [a], properties: { [a as string]: { type: 'string' } } },
      then: { required: [b], properties: { [b as string]: { type: 'string' } } },
    })) },
  }),
  http2: bool('HTTP/2 to the servers (ALPN on https://, h2c on http://); gRPC needs it.', false),
  resolver: str('The DNS server of dns: and srv: servers: an IP address with an optional port ("127.0.0.1:8600"); default the system\'s.'),
  resolve_interval: duration('dns: and srv: servers: the longest a record is trusted (a shorter TTL re-resolves sooner); at least 1s.', '30s'),
}, {
  required: ['servers'],
  extra: {
    // hash_key goes with balance: hash, and only with it.
    if: { required: ['balance'], properties: { balance: { const: 'hash' } } },
    then: { required: ['hash_key'], properties: { hash_key: { type: 'string' } } },
    else: { properties: { hash_key: { type: 'null' } } },
  },
})

// ---- caches ------------------------------------------------------------------------------------

const REDIS_URL = str('redis://[user:password@]host[:port][/db]; rediss:// is not supported yet.')

const CACHE = map('A response cache.', {
  store: oneOfValues('memory (one per process) or redis (shared by every instance).', ['memory', 'redis'], 'memory'),
  max_size: size('Memory store only: bytes of responses kept, 1k to 1 TiB.', 1024, TIB, '64m'),
  max_entries: int('Memory store only: responses kept.', 1, 100_000_000, 10_000),
  max_entry_size: size('Larger responses are passed on, not stored; at most max_size.', 1, TIB, '5m'),
  x_cache_header: bool('Add X-Cache: HIT, MISS, STALE or BYPASS to responses.', true),
  redis: map('The Redis store: required with store: redis, an error with store: memory.', {
    url: REDIS_URL,
    key_prefix: { type: 'string', pattern: '^[^*?[\\]\\s]*$', default: 'switchyard:', description: 'Prefix of every key the cache writes; no spaces or * ? [ ].' },
    timeout: duration('Connect and command limit; past it the cache is bypassed.', '500ms'),
  }, { required: ['url'] }),
}, {
  extra: {
    if: { required: ['store'], properties: { store: { const: 'redis' } } },
    then: { required: ['redis'], properties: { redis: { type: 'object' }, max_size: { type: 'null' }, max_entries: { type: 'null' } } },
    else: { properties: { redis: { type: 'null' } } },
  },
})

// ---- routes ------------------------------------------------------------------------------------

const FILE_CACHE = map('Lookups and small files kept in memory.', {
  max_file_size: size('Files up to this size are answered from memory; at most max_size.', 0, TIB, '256k'),
  max_size: size('Bytes of file contents kept per route (per worker).', 0, TIB, '32m'),
  max_entries: int('Paths remembered per route, missing ones included.', 1, 10_000_000, 10_000),
  valid: duration('A lookup older than this is checked again.', '1s'),
})

const STATIC = map('Serve files from a directory instead of an upstream.', {
  root: path('Absolute path of a directory that exists when the config loads.'),
  cache_control: str('The Cache-Control header of every file response, e.g. "public, max-age=3600".', { pattern: '^[\\t\\x20-\\x7e]+$' }),
  index: {
    oneOf: [{ const: false }, { type: 'string', pattern: '^[^./\\\\\\u0000][^/\\\\\\u0000]*$' }],
    default: false,
    description: 'false: a directory is 404; a file name (index.html: no "/", not starting with "."): that file answers for a directory.',
  },
  precompressed: bool('Serve a .br or .gz sibling the client accepts.', false),
  file_cache: { oneOf: [{ type: 'boolean' }, FILE_CACHE], description: 'On by default; false: every request looks at the disk; a map (or true): lookups and small files are kept in memory.' },
}, { required: ['root'] })

const RATE_LIMIT = map('Over the limit: 429 with Retry-After.', {
  requests: int('Requests allowed per `per`.', 1, 1_000_000_000),
  per: duration('The window of `requests`.', '1s'),
  burst: int('Requests allowed above the rate in a burst.', 0, 1_000_000_000, 0),
  key: str('client_ip (default), route (one budget for the route) or header:NAME.', { pattern: `^(client_ip|route|header:${TOKEN_PART})$`, default: 'client_ip' }),
  store: oneOfValues('memory (default) or redis (one budget across instances).', ['memory', 'redis'], 'memory'),
  max_keys: int('Memory store: keys remembered per route.', 1, 100_000_000, 100_000),
  redis: map('The Redis store: required with store: redis, an error with store: memory.', {
    url: REDIS_URL,
    key_prefix: str('Prefix of every key.', { default: 'switchyard:rl:' }),
    timeout: duration('Command limit; past it the request passes (fail open).', '100ms'),
  }, { required: ['url'] }),
}, {
  required: ['requests'],
  extra: {
    if: { required: ['store'], properties: { store: { const: 'redis' } } },
    then: { required: ['redis'], properties: { redis: { type: 'object' } } },
    else: { properties: { redis: { type: 'null' } } },
  },
})

// compress: `true | false` or the map (config/compression.ts).
const COMPRESS: Schema = {
  oneOf: [
    { type: 'boolean' },
    map('Compression settings.', {
      algorithms: list('Most preferred first.', oneOfValues('An algorithm.', ['zstd', 'br', 'gzip']), 1),
      min_size: size('Smaller responses are sent as they are.', 0, 1024 ** 3, '1k'),
      types: list('Content types compressed (text/*, application/json, ...).', str('A media type; `type/*` for every subtype.', {
        pattern: '^\\s*[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*|\\*)\\s*$',
      }), 1),
      level: map('The level of each algorithm.', {
        zstd: int('zstd level.', 1, 19, 3),
        br: int('Brotli quality.', 0, 11, 3),
        gzip: int('gzip level.', 1, 9, 4),
      }),
    }),
  ],
  description: 'Compress responses the client accepts: true (the defaults), false, or { algorithms, min_size, types, level }.',
}

const ROUTE = map('A route: which upstream (or directory) serves a request, by Host and path prefix.', {
  name: str('The route\'s name: the access log\'s route field; default route-<index>; unique.', { pattern: NAME }),
  match: map('What the route matches; absent = every request.', {
    host: str('Exact (api.example.com, an IP, [::1]) or a leading wildcard (*.example.com); no port. Absent = any host.'),
    path_prefix: str('Starts with "/"; matches on segment boundaries; no "?", "#" or spaces.', { pattern: '^/[^?#\\s]*$', default: '/' }),
  }),
  upstream: str('The name of an upstream (a route has one of upstream, static and redirect).'),
  static: STATIC,
  cache: str('The name of an entry of `caches`; not on a static route.'),
  buffering: map('This route\'s switches over its upstream\'s buffering.', {
    request: { type: 'boolean', description: 'Read the whole request body before a server is chosen.' },
    response: { type: 'boolean', description: 'Spool the server\'s answer.' },
  }),
  timeouts: map('This route\'s timeouts over its upstream\'s (SSE, long polls); connect stays per upstream.', {
    response_headers: duration('No response head by then: 504.'),
    idle: duration('No body bytes either way for this long: the exchange is aborted.'),
  }),
  rewrite_prefix: str('Replaces the matched path_prefix in the path sent to the server: /api/x?q -> /x?q with "/".', {
    pattern: '^/[^?#\\s\\u0000-\\u001f\\u007f]*$',
  }),
  request_headers: { ...ref('headerRules'), description: 'Header rules applied to the request sent to the server.' },
  response_headers: { ...ref('headerRules'), description: 'Header rules applied to the response sent to the client.' },
  redirect: map('Answer every request with a redirect; such a route needs no upstream.', {
    to: str('The Location; may hold {path} (path and query) and {host} (Host without its port).'),
    status: oneOfValues('301, 302 (default), 307 or 308.', REDIRECT_STATUSES, 302),
  }, { required: ['to'] }),
  rate_limit: RATE_LIMIT,
  allow: { ...ref('cidrs'), description: 'Client addresses allowed; others get 403.' },
  deny: { ...ref('cidrs'), description: 'Client addresses refused with 403; deny wins over allow.' },
  basic_auth: map('HTTP basic authentication; else 401.', {
    realm: str('The realm: printable ASCII, no " or \\.', { pattern: '^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]+$', default: 'switchyard' }),
    users_file: path('Absolute path of an htpasswd file of bcrypt hashes (htpasswd -B), re-read on reload.'),
    forward: bool('Pass Authorization on to the server.', false),
  }, { required: ['users_file'] }),
  error_pages: { ...ref('errorPages'), description: 'Pages of this route, over the top-level error_pages.' },
  maintenance: bool('503 with Retry-After (and the 503 page) without asking a server.', false),
  intercept_errors: bool('A 5xx from the server for which the route has a page is answered with the page.', false),
  compress: COMPRESS,
}, {
  notNull: ['static'], // `static:` written empty still means a static route, one without a root
  extra: {
    anyOf: [
      { required: ['upstream'], properties: { upstream: { type: 'string' } } },
      { required: ['static'] },
      { required: ['redirect'], properties: { redirect: { type: 'object' } } },
    ],
    not: { required: ['upstream', 'static'], properties: { upstream: { type: 'string' } } },
  },
})

// ---- the document ------------------------------------------------------------------------------

/** The schema as a plain object (built on each call; the caller may keep or change it). */
export function configSchema(): Schema {
  const root = map('switchyard, a reverse-proxy load balancer: its configuration file (docs/configuration.md).', {
    listeners: list('The client-facing listeners; at least one.', LISTENER, 1),
    admin: ADMIN,
    workers: {
      oneOf: [{ const: 'auto', description: 'One worker per CPU.' }, { type: 'integer', minimum: 1, maximum: 256 }],
      default: 1,
      description: 'Worker processes: an integer from 1 to 256, or "auto" (one per CPU).',
    },
    shutdown_timeout: duration('How long in-flight requests may still run after SIGTERM/SIGINT.', '30s'),
    log: LOG,
    upstreams: dict('Upstream name ([A-Za-z0-9_.-]+) -> a group of servers; at least one.', { type: 'string', pattern: NAME }, UPSTREAM, 1),
    caches: dict('Cache name ([A-Za-z0-9_.-]+) -> a response cache, named by routes (`cache: NAME`).', { type: 'string', pattern: NAME }, orNull(CACHE)),
    routes: list('Required with several upstreams; with one, absent = everything goes to it.', ROUTE),
    error_pages: { ...ref('errorPages'), description: 'The default pages of every route.' },
  }, { required: ['listeners', 'upstreams'] })
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'switchyard configuration',
    ...root,
    $defs: DEFS,
  }
}

/** What `switchyard schema` prints and config/switchyard.schema.json holds. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`
}
