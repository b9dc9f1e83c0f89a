// Every default of the config file in one place (durations in milliseconds). The README's
// configuration reference and CONTRACT.md section 2 list the same values.

export const DEFAULTS = {
  listenerAddress: '0.0.0.0',
  adminAddress: '127.0.0.1', // never public unless asked for
  adminPort: 9090,
  requestMetrics: true,
  workers: 1,
  shutdownTimeoutMs: 30_000,
  logLevel: 'info',
  accessLog: true,
  balance: 'round_robin',
  weight: 1,
  maxConnectionsPerServer: 128,
  retries: 2,
  timeouts: { connectMs: 2_000, responseHeadersMs: 30_000, idleMs: 60_000 },
  healthCheck: {
    path: '/health',
    intervalMs: 2_000,
    timeoutMs: 1_000,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    expectedStatus: [[200, 399]] as const,
  },
  passiveHealth: { consecutiveFailures: 3, ejectDurationMs: 10_000 },
  pathPrefix: '/',
} as const
