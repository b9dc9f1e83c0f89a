// Reading the admin port the way an operator's tools do: /metrics text and /status JSON.
import { request } from './client.js'

/** The value of one series of a Prometheus text scrape, or undefined when absent. */
export function seriesValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && line !== name && !line.startsWith(`${name} `)) continue
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]))
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3])
  }
  return undefined
}

/** The sum of every series of `name` whose labels include `labels` (e.g. retries of an upstream over all reasons); undefined when none. */
export function seriesSum(text: string, name: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]))
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum = (sum ?? 0) + Number(m[3])
  }
  return sum
}

export async function scrape(adminUrl: string): Promise<string> {
  const r = await request(`${adminUrl}/metrics`)
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`)
  return r.body
}

export interface StatusServer {
  url: string; id: string; weight: number; config_weight: number; state: string
  admin_state: 'active' | 'draining' | 'disabled'; drained: boolean; active_requests: number; websockets: number
}
export interface StatusDoc { upstreams: Record<string, { balance: string; servers: StatusServer[] }> }

export async function status(adminUrl: string): Promise<StatusDoc> {
  const r = await request(`${adminUrl}/status`)
  if (r.status !== 200) throw new Error(`/status answered ${r.status}`)
  return JSON.parse(r.body) as StatusDoc
}

/**
 * Each server's state from /status, checked against switchyard_server_up from /metrics
 * (1 exactly when healthy). Keys are the servers' `host:port`. The scrape is bracketed by
 * two /status reads, compared only when both agree: a state may change between requests.
 */
export async function serverStates(adminUrl: string, upstream = 'app'): Promise<Record<string, string>> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await status(adminUrl)
    const text = await scrape(adminUrl)
    const after = await status(adminUrl)
    const states = (doc: StatusDoc): Record<string, string> =>
      Object.fromEntries(doc.upstreams[upstream]!.servers.map((s) => [new URL(s.url).host, s.state]))
    const out = states(before)
    if (JSON.stringify(out) !== JSON.stringify(states(after))) continue // changed while we looked: look again
    for (const [id, state] of Object.entries(out)) {
      const up = seriesValue(text, 'switchyard_server_up', { upstream, server: id })
      if (up !== (state === 'healthy' ? 1 : 0)) throw new Error(`/status says ${id} is ${state} but switchyard_server_up is ${up}`)
    }
    return out
  }
  throw new Error('server states kept changing while being read')
}
