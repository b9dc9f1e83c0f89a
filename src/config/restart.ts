// What a reload cannot change in a running daemon: its sockets and its process layout.
// A reload that changes any of these is refused as a whole (never half-applied), with a
// message per key that says what to do instead.
import type { Config } from './types.js'

const listenerText = (l: Config['listeners'][number]): string => `${l.name} ${l.address}:${l.port}`
// Limits, timeouts, TLS versions, h2 and redirect_https are socket-server options: they too
// change only with the listener. The certificates are not: a reload installs the new pairs.
// `tls.acme` needs a restart too: the ACME manager and the challenge answers on plain
// listeners are set up once, at start.
const listenerKey = (ls: Config['listeners']): string => JSON.stringify(ls.map((l) => ({
  ...l, tls: l.tls === null ? null : { minVersion: l.tls.minVersion, acme: l.tls.acme },
})))

export function restartNeeded(running: Config, next: Config): string[] {
  const problems: string[] = []
  const before = running.listeners.map(listenerText).join(', ')
  const after = next.listeners.map(listenerText).join(', ')
  if (before !== after) problems.push(`listeners: changed from [${before}] to [${after}]; listeners change only on a restart`)
  else if (listenerKey(running.listeners) !== listenerKey(next.listeners)) problems.push('listeners: limits or timeouts changed (or tls added, removed or its min_version or acme, or http2, or redirect_https); listeners change only on a restart (certificates do reload)')
  if (running.admin.address !== next.admin.address || running.admin.port !== next.admin.port) {
    problems.push(`admin: changed from ${running.admin.address}:${running.admin.port} to ${next.admin.address}:${next.admin.port}; the admin address changes only on a restart`)
  }
  if (running.workers !== next.workers) problems.push(`workers: changed from ${running.workers} to ${next.workers}; the number of workers changes only on a restart`)
  return problems
}
