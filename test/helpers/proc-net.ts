// Which TCP connections a process holds, read from Linux's /proc as `ss -p` does: the
// process's fds that are sockets (/proc/<pid>/fd -> "socket:[inode]"), matched by inode
// against /proc/net/tcp and tcp6 (one line per socket; addresses as hex "ADDR:PORT").
// Used to prove which process of a cluster talks to a service (the primary must not).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** Socket inodes among the open fds of `pid`. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target)
    if (m) inodes.add(m[1]!)
  }
  return inodes
}

/** How many TCP sockets of process `pid` have `remotePort` as their remote port (any state). */
export function tcpConnectionsTo(pid: number, remotePort: number): number {
  const inodes = socketInodes(pid)
  let n = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue // no IPv6 in this kernel
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      const port = Number.parseInt(f[2]!.split(':')[1]!, 16)
      if (port === remotePort && inodes.has(f[9]!)) n++
    }
  }
  return n
}
