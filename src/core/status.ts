// The /status document: what one process knows of its upstreams and servers, and how the
// primary of a multi-worker daemon merges its workers' views into one.
import type { ServerState } from './health.js'

export interface StatusDoc {
  upstreams: Record<string, { balance: string; servers: ServerStatus[] }>
}

export interface ServerStatus {
  url: string
  weight: number
  state: string
  /** Requests in flight to the server (summed over workers). */
  active_requests: number
}

/** Across workers the worst state wins (a server one worker ejected is shown ejected). */
const RANK: Record<ServerState, number> = { healthy: 0, ejected: 1, unhealthy: 2, draining: 3 }

export function mergeStatus(docs: readonly StatusDoc[]): StatusDoc {
  const out: StatusDoc = { upstreams: {} }
  for (const doc of docs) {
    for (const [name, u] of Object.entries(doc.upstreams)) {
      const merged = (out.upstreams[name] ??= { balance: u.balance, servers: [] })
      for (const s of u.servers) {
        const have = merged.servers.find((x) => x.url === s.url)
        if (have === undefined) merged.servers.push({ ...s })
        else {
          have.active_requests += s.active_requests
          if (RANK[s.state as ServerState] > RANK[have.state as ServerState]) have.state = s.state
        }
      }
    }
  }
  return out
}
