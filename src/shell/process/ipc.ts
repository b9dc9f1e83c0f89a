// Messages between the primary and its workers (node:cluster IPC). Prefixed types keep
// them apart from prom-client's own cluster-aggregation messages on the same channel.
import type { Config, ServerConfig } from '../../config/types.js'
import type { StatusDoc } from '../../core/status.js'
import type { AdminEntry } from '../../core/admin-state.js'

/** A certificate the primary's ACME manager holds for a TLS listener (PEM: the chain, its key). */
export interface IssuedCertificate {
  readonly listener: string
  readonly cert: string
  readonly key: string
}

export type ToWorker =
  /**
   * Start with, or reload to, this validated config; `unhealthy` = servers the primary's checks
   * hold down now; `admin` = the runtime API's table (only the servers an operator changed);
   * `certificates` = the ACME certificates the primary holds now; `challenges` = the HTTP-01
   * tokens of orders under way ([token, key authorization]); `discovered` = the servers its DNS
   * discovery has found, by upstream.
   */
  | { type: 'switchyard:config'; config: Config; unhealthy: [upstream: string, server: string][]; admin: AdminEntry[]; certificates: IssuedCertificate[]; challenges: [token: string, keyAuthorization: string][]; discovered: [upstream: string, servers: ServerConfig[]][] }
  /** The runtime API's table changed: apply it whole, then answer `switchyard:admin-applied`. */
  | { type: 'switchyard:admin'; id: number; admin: AdminEntry[] }
  /** A new ACME certificate: serve it from the next handshake on. */
  | { type: 'switchyard:certificate'; certificate: IssuedCertificate }
  /** An HTTP-01 token to answer (`keyAuthorization`), or to forget (null); acknowledged by id. */
  | { type: 'switchyard:challenge'; id: number; token: string; keyAuthorization: string | null }
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
  | { type: 'switchyard:admin-applied'; id: number }
  | { type: 'switchyard:challenge'; id: number }

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('switchyard:')
}

export function isToWorker(m: unknown): m is ToWorker {
  return isFromWorker(m)
}
