// Every default of the config file in one place (durations in milliseconds). docs/configuration.md
// lists the same values.

export const DEFAULTS = {
  listenerAddress: '0.0.0.0',
  listener: {
    maxConnections: 0, // no cap but the OS's file descriptor limit
    maxBodySize: 0, // no cap: bodies stream, memory does not grow with them
    maxHeaderSize: 16 * 1024, // Node's default; nginx's large_client_header_buffers is 8k per line
    // request_head as HAProxy's `timeout http-request` is commonly set; request as Node's
    // requestTimeout default; keep_alive as nginx's keepalive_timeout.
    timeouts: { requestHeadMs: 10_000, requestMs: 300_000, keepAliveMs: 75_000 },
    http2: true, // TLS listeners offer h2 and http/1.1 by ALPN
  },
  adminAddress: '127.0.0.1', // never public unless asked for
  adminPort: 9090,
  requestMetrics: true,
  workers: 1,
  shutdownTimeoutMs: 30_000,
  logLevel: 'info',
  accessLog: true,
  accessLogFormat: 'json',
  balance: 'round_robin',
  weight: 1,
  maxConnectionsPerServer: 128,
  retries: 2,
  timeouts: { connectMs: 2_000, responseHeadersMs: 60_000, idleMs: 60_000 }, // response_headers: nginx's proxy_read_timeout
  healthCheck: {
    path: '/health',
    intervalMs: 2_000,
    timeoutMs: 1_000,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    expectedStatus: [[200, 399]] as const,
  },
  passiveHealth: { consecutiveFailures: 3, ejectDurationMs: 10_000 },
  stickyCookie: 'sy_server',
  maxRequests: 0, // no cap
  queue: { size: 100, timeoutMs: 30_000 },
  retryBudget: { ratio: 0.2, minPerSecond: 10 }, // Linkerd's defaults
  slowStartMs: 0, // off
  resolveIntervalMs: 30_000, // dns:/srv: servers: the longest a DNS answer is trusted
  pathPrefix: '/',
  buffering: { memory: 64 * 1024, maxTempSize: 1024 ** 3 }, // nginx's proxy_max_temp_file_size is 1024m
  static: {
    precompressed: false,
    // nginx's open_file_cache is off by default and its _valid is 60s; here it is on, and a
    // replaced file is seen within a second.
    fileCache: { maxFileSize: 256 * 1024, maxSize: 32 * 1024 ** 2, maxEntries: 10_000, validMs: 1_000 },
  },
  cache: {
    store: 'memory',
    maxSize: 64 * 1024 ** 2, // 64 MiB
    maxEntries: 10_000,
    maxEntrySize: 5 * 1024 ** 2, // undici's MemoryCacheStore default
    xCacheHeader: true,
    redisKeyPrefix: 'switchyard:',
    redisTimeoutMs: 500, // a cache lookup must never cost more than a short wait
  },
} as const
