// Certificate expiry, watched by the process that loads the config (the single process, or
// the primary of workers): at start and after each reload the expiry gauge gets the running
// certificates, and each one that expires within EXPIRY_WARNING_DAYS logs a warning (an
// expired one logs an error: it still serves, as nginx does, but clients refuse it).
import type { Config } from '../../config/types.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'

export const EXPIRY_WARNING_DAYS = 14
const DAY_MS = 86_400_000

export function noteCertificates(config: Config, log: Logger, metrics: Metrics, now = Date.now()): void {
  const list: { listener: string; name: string; notAfterMs: number }[] = []
  for (const l of config.listeners) {
    for (const c of l.tls?.certificates ?? []) {
      const name = c.names[0] ?? c.certFile
      list.push({ listener: l.name, name, notAfterMs: c.notAfterMs })
      const days = (c.notAfterMs - now) / DAY_MS
      const fields = { listener: l.name, certificate: name, cert_file: c.certFile, not_after: new Date(c.notAfterMs).toISOString() }
      if (days < 0) log.error(fields, 'TLS certificate has expired: clients refuse it')
      else if (days < EXPIRY_WARNING_DAYS) log.warn({ ...fields, days_left: Math.floor(days) }, `TLS certificate expires in less than ${EXPIRY_WARNING_DAYS} days`)
    }
  }
  metrics.setCertificates(list)
}
