// Messages between the primary and its workers (node:cluster IPC). Prefixed types keep
// them apart from prom-client's own cluster-aggregation messages on the same channel.
import type { Config, ServerConfig } from '../../config/types.js'
import type { StatusDoc } from '../../core/status.js'

export type ToWorker =
  /**
   * Start with, or reload to, this validated config; `unhealthy` = servers the primary's
   * checks hold down now; `discovered` = the servers its DNS discovery has found, by upstream.
   */
  | { type: 'switchyard:config'; config: Config; unhealthy: [upstream: string, server: string][]; discovered: [upstream: string, servers: ServerConfig[]][] }
  /** DNS discovery found a new set of servers for an upstream (each upstream's whole set). */
  | { type: 'switchyard:servers'; discovered: [upstream: string, servers: ServerConfig[]][] }
  | { type: 'switchyard:probe'; upstream: string; server: string; ok: boolean; detail: string }
  | { type: 'switchyard:status'; id: number }
  /** Admin purge: `url` is an absolute URL, or null for everything. */
  | { type: 'switchyard:purge'; id: number; url: string | null }
  | { type: 'switchyard:shutdown' }

export type FromWorker =
  | { type: 'switchyard:ready' }
  | { type: 'switchyard:status'; id: number; status: StatusDoc }
  | { type: 'switchyard:purged'; id: number }

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('switchyard:')
}

export function isToWorker(m: unknown): m is ToWorker {
  return isFromWorker(m)
}
