// When an ACME certificate is renewed, and how long a failed order waits before the next try.
// Pure: the manager (shell/process/acme.ts) passes the certificate's dates and the time.
// - A stored certificate is used at once when it covers every configured domain and is not
//   yet due; otherwise a new one is ordered now.
// - Due = notAfter - renew_before (30 days by default, as certbot). When renew_before is as
//   long as the whole lifetime (a short-lived certificate: Let's Encrypt's 6-day ones, a test
//   CA's minutes), that would order again as soon as one is issued: then renewal is due when
//   a third of the lifetime is left, as Caddy does.
// - Failures back off exponentially from 1 minute to 1 hour (Let's Encrypt allows 5 failed
//   validations per name per hour); the last good certificate serves meanwhile.

export const ORDER_RETRY_MIN_MS = 60_000
export const ORDER_RETRY_MAX_MS = 3_600_000

export interface CertificateDates {
  readonly names: readonly string[]
  readonly notBeforeMs: number
  readonly notAfterMs: number
}

/** When `cert` should be replaced (Unix ms); -Infinity when it does not cover `domains` (replace now). */
export function renewalDue(cert: CertificateDates, domains: readonly string[], renewBeforeMs: number): number {
  const names = new Set(cert.names.map((n) => n.toLowerCase()))
  if (!domains.every((d) => names.has(d))) return -Infinity
  const lifetime = cert.notAfterMs - cert.notBeforeMs
  if (renewBeforeMs >= lifetime) return cert.notAfterMs - lifetime / 3
  return cert.notAfterMs - renewBeforeMs
}

/** The wait after the `failures`-th failed order in a row (1, 2, ...). */
export function orderRetryMs(failures: number): number {
  return Math.min(ORDER_RETRY_MAX_MS, ORDER_RETRY_MIN_MS * 2 ** Math.max(0, Math.min(failures - 1, 30)))
}
