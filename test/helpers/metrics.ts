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

export async function scrape(adminUrl: string): Promise<string> {
  const r = await request(`${adminUrl}/metrics`)
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`)
  return r.body
}

export interface StatusServer { url: string; weight: number; state: string; active_requests: number }
export interface StatusDoc { upstreams: Record<string, { balance: string; servers: StatusServer[] }> }

export async function status(adminUrl: string): Promise<StatusDoc> {
  const r = await request(`${adminUrl}/status`)
  if (r.status !== 200) throw new Error(`/status answered ${r.status}`)
  return JSON.parse(r.body) as StatusDoc
}

/**
 * Each server's state from /status, checked against switchyard_server_up from /metrics
 * (1 exactly when healthy). Keys are the servers' `host:port`.
 */
export async function serverStates(adminUrl: string, upstream = 'app'): Promise<Record<string, string>> {
  const [doc, text] = [await status(adminUrl), await scrape(adminUrl)]
  const out: Record<string, string> = {}
  for (const s of doc.upstreams[upstream]!.servers) {
    const id = new URL(s.url).host
    const up = seriesValue(text, 'switchyard_server_up', { upstream, server: id })
    if (up !== (s.state === 'healthy' ? 1 : 0)) throw new Error(`/status says ${id} is ${s.state} but switchyard_server_up is ${up}`)
    out[id] = s.state
  }
  return out
}
