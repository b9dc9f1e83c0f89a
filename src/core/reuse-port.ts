// listeners[].reuse_port with workers: each worker's own socket has its own accept queue, and
// when a worker exits (SIGTERM, a crash, a restart) the connections still waiting in that
// queue are reset, unless the kernel hands them to another socket of the port: Linux 5.14+
// does so when the sysctl net.ipv4.tcp_migrate_req is 1 (measured 2026-12-06 with the
// zero-loss test under reuse_port: with 0, 2 connections reset in 1 of 3 runs where a worker
// was stopped under load; with 1, none in 6). Said once at start, a warning unless it is 1: a
// setting of the host, not of switchyard.

/** The sysctl that lets an exiting listener's queued connections move to another. */
export const MIGRATE_SYSCTL = 'net.ipv4.tcp_migrate_req'

/** What the primary says about it at start. */
export interface ReusePortNote {
  readonly level: 'info' | 'warn'
  readonly msg: string
}

/**
 * What to tell the operator, or null. `listeners`: the names of the listeners with reuse_port
 * (empty: nothing to say); `workers`: how many; `migrate`: the sysctl's text as read, or null
 * when it does not exist (a kernel before 5.14, not Linux).
 */
export function reusePortNote(listeners: readonly string[], workers: number, migrate: string | null): ReusePortNote | null {
  if (listeners.length === 0 || workers < 2) return null
  if (migrate === null) return { level: 'warn', msg: `reuse_port: this kernel has no ${MIGRATE_SYSCTL} (Linux before 5.14): connections waiting in a worker's accept queue are reset when that worker exits` }
  if (migrate.trim() === '1') return { level: 'info', msg: `reuse_port: ${MIGRATE_SYSCTL} is 1: a worker that exits hands the connections waiting in its accept queue to the others` }
  return { level: 'warn', msg: `reuse_port: ${MIGRATE_SYSCTL} is ${migrate.trim()}: connections waiting in a worker's accept queue are reset when that worker exits; set it to 1 to hand them to the other workers` }
}
