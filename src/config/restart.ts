// What a reload cannot change in a running daemon: its sockets and its process layout.
// A reload that changes any of these is refused as a whole (never half-applied), with a
// message per key that says what to do instead.
import type { Config } from './types.js'

const listenerText = (l: Config['listeners'][number]): string => `${l.name} ${l.address}:${l.port}`
// Limits and timeouts are socket-server options: they too change only with the listener.
const listenerKey = (ls: Config['listeners']): string => JSON.stringify(ls)

export function restartNeeded(running: Config, next: Config): string[] {
  const problems: string[] = []
  const before = running.listeners.map(listenerText).join(', ')
  const after = next.listeners.map(listenerText).join(', ')
  if (before !== after) problems.push(`listeners: changed from [${before}] to [${after}]; listeners change only on a restart`)
  else if (listenerKey(running.listeners) !== listenerKey(next.listeners)) problems.push('listeners: limits or timeouts changed; listeners change only on a restart')
  if (running.admin.address !== next.admin.address || running.admin.port !== next.admin.port) {
    problems.push(`admin: changed from ${running.admin.address}:${running.admin.port} to ${next.admin.address}:${next.admin.port}; the admin address changes only on a restart`)
  }
  if (running.workers !== next.workers) problems.push(`workers: changed from ${running.workers} to ${next.workers}; the number of workers changes only on a restart`)
  return problems
}
