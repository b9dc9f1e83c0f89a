// The /status document: what one process knows of its upstreams and servers, and how the
// primary of a multi-worker daemon merges its workers' views into one.
import type { ServerState } from './health.js'
import { mergeModes, type AdminMode } from './admin-state.js'

export interface StatusDoc {
  upstreams: Record<string, { balance: string; servers: ServerStatus[] }>
}

export interface ServerStatus {
  url: string
  /** host:port or unix:/path: the `server` label, and how the runtime API names it. */
  id: string
  /** The weight in effect (the runtime API's override, else the configured one). */
  weight: number
  config_weight: number
  state: string
  /** The runtime API's mode: active, draining or disabled. */
  admin_state: AdminMode
  /** Taken out (runtime API or reload) and nothing in flight or open, in every worker. */
  drained: boolean
  /** Requests in flight to the server, open WebSockets included (summed over workers). */
  active_requests: number
  /** Open WebSockets (summed over workers). */
  websockets: number
}

/** Across workers the worst state wins (a server one worker ejected is shown ejected). */
const RANK: Record<ServerState, number> = { healthy: 0, ejected: 1, unhealthy: 2, draining: 3 }

/**
 * `complete`: every worker answered. When one did not, no server is shown drained: a
 * deploy script must not act on a view that misses a worker's in-flight requests.
 */
export function mergeStatus(docs: readonly StatusDoc[], complete = true): StatusDoc {
  const out: StatusDoc = { upstreams: {} }
  for (const doc of docs) {
    for (const [name, u] of Object.entries(doc.upstreams)) {
      const merged = (out.upstreams[name] ??= { balance: u.balance, servers: [] })
      for (const s of u.servers) {
        const have = merged.servers.find((x) => x.url === s.url)
        if (have === undefined) merged.servers.push({ ...s, drained: s.drained && complete })
        else {
          have.active_requests += s.active_requests
          have.websockets += s.websockets
          have.drained &&= s.drained
          have.admin_state = mergeModes(have.admin_state, s.admin_state)
          if (RANK[s.state as ServerState] > RANK[have.state as ServerState]) have.state = s.state
        }
      }
    }
  }
  return out
}
