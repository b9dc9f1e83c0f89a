// The one place a process starts the ACME manager (single.ts, or primary.ts with workers).
// acme-client and its HTTP stack are imported only when some listener has tls.acme: a
// daemon without it never loads them, and workers never do (measured on Node 24: importing
// acme-client, with axios, node-forge and @peculiar/x509, takes about 210 ms and 37 MiB RSS).
import type { Config } from '../../config/types.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import type { AcmeManager, AcmeTargets } from './acme.js'

/**
 * With tls.acme: the ACME manager, its stored certificates installed; the caller calls run()
 * once the listeners serve. Without: null, and acme-client is never loaded.
 */
export async function startAcme(config: Config, log: Logger, metrics: Metrics, targets: AcmeTargets): Promise<AcmeManager | null> {
  if (!config.listeners.some((l) => l.tls?.acme != null)) return null
  const { AcmeManager } = await import('./acme.js')
  const manager = new AcmeManager(config, log, metrics, targets)
  await manager.load()
  return manager
}
