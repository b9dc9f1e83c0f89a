// `switchyard ctl`: the runtime API from a shell, a deploy script's one line
// (docs/operations.md#switchyard-ctl):
//   switchyard ctl drain|disable|enable UPSTREAM SERVER [--wait] [--timeout DUR]
//   switchyard ctl weight UPSTREAM SERVER N|config
// The config file is read with the daemon's own loader (so its problems read the same), for
// the admin address, port and token. SERVER is the server's id as /status and the metrics
// name it (`10.0.0.5:8000`, `[::1]:8000`, `unix:/run/app.sock`, written as is: ctl encodes
// it) or its URL as in the config. `--wait` polls /status every 250 ms: after drain or
// disable until the server is drained in every worker, after enable until it is healthy.
// Exit codes: 0 done, 1 refused or failed (the daemon's error, no daemon, a bad config),
// 2 usage, 3 --timeout reached. Messages go to stderr, the outcome to stdout.
import http from 'node:http'
import { loadConfigFile, formatProblem, parseDuration } from './config/load.js'
import type { Config } from './config/types.js'
import { apiPath, type ApiAction } from './core/admin-path.js'
import type { ServerStatus, StatusDoc } from './core/status.js'

export const CTL_USAGE = `  switchyard ctl drain|disable|enable UPSTREAM SERVER [--wait] [--timeout DUR] [--config FILE]
  switchyard ctl weight UPSTREAM SERVER N|config [--config FILE]`

export const CTL_OK = 0
export const CTL_FAILED = 1
export const CTL_USAGE_ERROR = 2
export const CTL_TIMEOUT = 3

const POLL_MS = 250
const REQUEST_TIMEOUT_MS = 10_000
const DEFAULT_WAIT = '60s'

export interface CtlOptions {
  readonly args: readonly string[]
  readonly file: string
  readonly wait: boolean
  readonly timeout: string | undefined
}

interface Call { action: ApiAction; upstream: string; server: string; weight: number | null }

const err = (line: string): void => { process.stderr.write(`switchyard ctl: ${line}\n`) }

export async function ctl(o: CtlOptions): Promise<number> {
  const call = parseCall(o)
  if (typeof call === 'string') {
    err(call)
    process.stderr.write(`\nUsage:\n${CTL_USAGE}\n`)
    return CTL_USAGE_ERROR
  }
  const waitMs = parseDuration(o.timeout ?? DEFAULT_WAIT)
  if (waitMs === undefined || waitMs <= 0) {
    err(`--timeout: not a duration: "${o.timeout}" (e.g. 30s, 2m)`)
    return CTL_USAGE_ERROR
  }
  const loaded = await loadConfigFile(o.file)
  if (!loaded.ok) {
    err(`${o.file}: ${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'}`)
    for (const p of loaded.problems) process.stderr.write(`  ${formatProblem(p)}\n`)
    return CTL_FAILED
  }
  const config = loaded.config
  const { token, port } = config.admin
  if (token === null) {
    err(`${o.file} has no admin.token_file: the runtime API needs one (the daemon answers 403 without it)`)
    return CTL_FAILED
  }
  if (port === 0) {
    err(`${o.file}: admin.port is 0 (any free port): ctl cannot know which; set a fixed port`)
    return CTL_FAILED
  }
  const server = serverId(config, call.upstream, call.server)
  const admin = { host: connectHost(config.admin.address), port, token }
  const started = performance.now()

  let answer: Answer
  try {
    answer = await send(admin, call.action === 'weight' ? 'PUT' : 'POST', apiPath(call.upstream, server, call.action),
      call.action === 'weight' ? JSON.stringify({ weight: call.weight }) : '')
  } catch (e) {
    err(`no answer from the admin port ${admin.host}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    return CTL_FAILED
  }
  if (answer.status !== 200) {
    err(`${answer.status} ${errorOf(answer.text)}`)
    return CTL_FAILED
  }
  const done = JSON.parse(answer.text) as { admin_state: string; weight: number }
  process.stdout.write(`${call.upstream} ${server}: ${done.admin_state}, weight ${done.weight}\n`)
  if (!o.wait) return CTL_OK
  return waitFor(admin, call, server, started + waitMs, o.timeout ?? DEFAULT_WAIT)
}

function parseCall(o: CtlOptions): Call | string {
  const [action, upstream, server, extra, ...rest] = o.args
  if (action === undefined) return 'which action? drain, disable, enable or weight'
  if (!['drain', 'disable', 'enable', 'weight'].includes(action)) return `unknown action "${action}"`
  if (upstream === undefined || server === undefined) return `${action} needs an UPSTREAM and a SERVER`
  if (rest.length > 0) return `too many arguments: ${rest.join(' ')}`
  if (action === 'weight') {
    if (o.wait) return '--wait goes with drain, disable or enable'
    if (extra === undefined) return 'weight needs a value: an integer from 1 to 1000, or "config" for the configured one'
    if (extra === 'config') return { action, upstream, server, weight: null }
    const n = Number(extra)
    if (!/^\d+$/.test(extra) || n < 1 || n > 1000) return `weight: an integer from 1 to 1000, or "config" (got "${extra}")`
    return { action, upstream, server, weight: n }
  }
  if (extra !== undefined) return `too many arguments: ${extra}`
  if (o.timeout !== undefined && !o.wait) return '--timeout goes with --wait'
  return { action: action as ApiAction, upstream, server, weight: null }
}

/** A server's URL as written in the config names it too; anything else is sent as the id it is. */
function serverId(config: Config, upstream: string, given: string): string {
  if (!given.includes('://')) return given
  let origin: string
  try {
    origin = new URL(given).origin
  } catch {
    return given
  }
  return config.upstreams.find((u) => u.name === upstream)?.servers.find((s) => s.url === origin)?.id ?? given
}

/** The admin address to connect to: a wildcard bind is reached on loopback. */
function connectHost(address: string): string {
  if (address === '0.0.0.0' || address === '') return '127.0.0.1'
  if (address === '::') return '::1'
  return address
}

interface Admin { host: string; port: number; token: string }
interface Answer { status: number; text: string }

function send(admin: Admin, method: string, path: string, body: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${admin.token}` }
    if (body !== '') {
      headers['content-type'] = 'application/json'
      headers['content-length'] = Buffer.byteLength(body)
    }
    const req = http.request({ host: admin.host, port: admin.port, method, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', reject)
    req.end(body === '' ? undefined : body)
  })
}

function errorOf(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: unknown }).error
    if (typeof e === 'string') return e
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 200)
}

/** Polls /status until the server is drained (drain, disable) or healthy (enable), or the deadline. */
async function waitFor(admin: Admin, call: Call, server: string, deadline: number, timeoutText: string): Promise<number> {
  let last = 'no answer from /status yet'
  for (;;) {
    const left = deadline - performance.now()
    if (left <= 0) break
    try {
      const answer = await send(admin, 'GET', '/status', '', Math.max(100, Math.min(2_000, left)))
      if (answer.status === 200) {
        const entries = ((JSON.parse(answer.text) as StatusDoc).upstreams[call.upstream]?.servers ?? []).filter((s: ServerStatus) => s.id === server)
        const verdict = judge(call.action, entries)
        if (verdict.done) {
          process.stdout.write(`${call.upstream} ${server}: ${verdict.text}\n`)
          return CTL_OK
        }
        last = verdict.text
      } else last = `/status answered ${answer.status}`
    } catch (e) {
      last = `/status: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`
    }
    const pause = Math.min(POLL_MS, deadline - performance.now())
    if (pause > 0) await new Promise((r) => setTimeout(r, pause))
  }
  err(`timed out after ${timeoutText} waiting for ${call.upstream} ${server}: ${last}`)
  return CTL_TIMEOUT
}

function judge(action: ApiAction, entries: readonly ServerStatus[]): { done: boolean; text: string } {
  if (entries.length === 0) {
    return action === 'enable' ? { done: false, text: 'not listed in /status' } : { done: true, text: 'drained (it left the config)' }
  }
  if (action === 'enable') {
    const bad = entries.find((s) => s.state !== 'healthy')
    return bad === undefined ? { done: true, text: 'healthy' } : { done: false, text: `still ${bad.state}` }
  }
  if (entries.every((s) => s.drained)) return { done: true, text: 'drained' }
  const requests = entries.reduce((n, s) => n + s.active_requests, 0)
  const websockets = entries.reduce((n, s) => n + s.websockets, 0)
  if (requests === 0 && entries.every((s) => s.admin_state !== 'active' || s.state === 'draining')) {
    return { done: false, text: 'a worker did not answer /status (restarting?)' }
  }
  if (requests === 0) return { done: false, text: 'still in service: it was enabled again' }
  return { done: false, text: `${requests} in flight (${websockets} of them WebSockets)` }
}
