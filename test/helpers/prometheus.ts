// A real Prometheus server (Debian package `prometheus`) for tests, scraping the daemon's
// admin port every second, plus `promtool check metrics` and a small parser for the
// text exposition format. 127.0.0.1 only. Callers check the binaries first with
// `needTool(ctx, 'prometheus', 'prometheus')` (helpers/tools.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findTool } from './tools.js'

/** One element of an instant-vector query result (a scalar result becomes one element with no labels). */
export interface PromSample {
  readonly metric: Record<string, string>
  readonly value: number
}

export interface PromTarget {
  readonly scrapeUrl: string
  readonly health: string
  readonly lastError: string
}

export interface RunningPrometheus {
  /** http://127.0.0.1:<port> of Prometheus itself. */
  readonly url: string
  readonly port: number
  /** The temp dir holding prometheus.yml and the TSDB (removed by stop()). */
  readonly dir: string
  readonly proc: ChildProcess
  /** Prometheus's own log (stderr + stdout), last 64 KiB. */
  output(): string
  /** GET /api/v1/query; throws on an error answer. */
  query(promql: string): Promise<PromSample[]>
  /**
   * Polls `query(promql)` every 500 ms until `predicate` holds, resolving with that
   * result; rejects after timeoutMs with the last result (or error) in the message.
   */
  waitFor(promql: string, predicate: (result: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>
  /** GET /api/v1/targets: the active targets. */
  targets(): Promise<PromTarget[]>
  /** Waits until the `switchyard` job's target was scraped successfully (up == 1). */
  waitForTargetUp(timeoutMs?: number): Promise<void>
  /** SIGTERM, SIGKILL after 5 s; then removes the temp dir. Idempotent. */
  stop(): Promise<void>
}

export interface PrometheusOptions {
  /** Scrape target: the daemon's admin port on 127.0.0.1. */
  targetPort: number
  /** Bound on reaching /-/ready (default 20 s). */
  readyTimeoutMs?: number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A sample value as Prometheus writes it: a float, `+Inf`, `-Inf` or `NaN`. */
export function parseValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity
  if (s === '-Inf') return -Infinity
  return Number(s)
}

/** A port that was free a moment ago: bound on 127.0.0.1 port 0, then closed. */
export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject)
    s.listen(0, '127.0.0.1', resolve)
  })
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

export function prometheusConfig(targetPort: number): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: switchyard
    metrics_path: /metrics
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ['127.0.0.1:${targetPort}']
`
}

async function getJson(url: string, timeoutMs = 5000): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, body, text }
}

interface ApiAnswer {
  status?: string
  errorType?: string
  error?: string
  data?: unknown
}

function toSamples(data: unknown): PromSample[] {
  const d = data as { resultType?: string; result?: unknown }
  if (d.resultType === 'vector') {
    return (d.result as { metric: Record<string, string>; value: [number, string] }[])
      .map((r) => ({ metric: r.metric, value: parseValue(r.value[1]) }))
  }
  if (d.resultType === 'scalar') {
    const v = d.result as [number, string]
    return [{ metric: {}, value: parseValue(v[1]) }]
  }
  throw new Error(`unexpected query result type ${String(d.resultType)} (use an instant vector or scalar expression)`)
}

class QueryError extends Error {
  constructor(message: string, readonly errorType: string | undefined) {
    super(message)
  }
}

export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  const bin = findTool('prometheus')
  if (bin === undefined) throw new Error('prometheus is not on PATH (apt-get install prometheus)')
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000
  let lastFailure = ''
  // The free port can be taken between probing and Prometheus binding it: retry then.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'))
    const started = await launch(bin, dir, opts.targetPort, readyTimeoutMs)
    if (typeof started !== 'string') return started
    lastFailure = started
    rmSync(dir, { recursive: true, force: true })
    if (!/address already in use/i.test(started)) break
  }
  throw new Error(lastFailure)
}

/** Resolves with the running server, or with a failure description (process already gone). */
async function launch(bin: string, dir: string, targetPort: number, readyTimeoutMs: number): Promise<RunningPrometheus | string> {
  const port = await freePort()
  const configFile = join(dir, 'prometheus.yml')
  writeFileSync(configFile, prometheusConfig(targetPort))
  const proc = spawn(bin, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  const keep = (chunk: Buffer): void => {
    log += chunk.toString()
    if (log.length > 65_536) log = log.slice(-65_536)
  }
  proc.stdout!.on('data', keep)
  proc.stderr!.on('data', keep)
  let spawnError: Error | undefined
  proc.once('error', (e) => { spawnError = e })
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve()
    else proc.once('close', () => resolve())
  })
  const gone = (): boolean => proc.exitCode !== null || proc.signalCode !== null || spawnError !== undefined
  const url = `http://127.0.0.1:${port}`

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!gone()) {
        proc.kill('SIGTERM')
        const killed = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)])
        if (killed) {
          proc.kill('SIGKILL')
          await Promise.race([exited, sleep(2000)])
        }
      }
      rmSync(dir, { recursive: true, force: true })
    })()
    return stopping
  }

  // Bounded wait for /-/ready.
  const deadline = Date.now() + readyTimeoutMs
  let lastProbe = 'no answer yet'
  for (;;) {
    if (gone()) {
      await Promise.race([exited, sleep(500)])
      return `prometheus exited (code ${String(proc.exitCode)}, signal ${String(proc.signalCode)}${spawnError ? `, ${spawnError.message}` : ''}) before it was ready; its output:\n${log}`
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      await res.text()
      if (res.status === 200) break
      lastProbe = `HTTP ${res.status}`
    } catch (e) {
      lastProbe = (e as Error).message
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`prometheus on ${url} not ready after ${readyTimeoutMs} ms (last probe: ${lastProbe}); its output:\n${log}`)
    }
    await sleep(100)
  }

  const query = async (promql: string): Promise<PromSample[]> => {
    const r = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const a = (r.body ?? {}) as ApiAnswer
    if (r.status !== 200 || a.status !== 'success') {
      throw new QueryError(`query ${JSON.stringify(promql)} failed: HTTP ${r.status} ${a.errorType ?? ''} ${a.error ?? r.text.slice(0, 500)}`, a.errorType)
    }
    return toSamples(a.data)
  }

  const waitFor = async (promql: string, predicate: (result: PromSample[]) => boolean, timeoutMs = 15_000): Promise<PromSample[]> => {
    const until = Date.now() + timeoutMs
    let last = 'no answer yet'
    for (;;) {
      try {
        const result = await query(promql)
        if (predicate(result)) return result
        last = `last result: ${JSON.stringify(result)}`
      } catch (e) {
        if (e instanceof QueryError && e.errorType === 'bad_data') throw e // a bad expression never recovers
        last = `last error: ${(e as Error).message}`
      }
      if (Date.now() + 500 > until) {
        throw new Error(`timed out after ${timeoutMs} ms waiting on ${JSON.stringify(promql)}; ${last}`)
      }
      await sleep(500)
    }
  }

  const targets = async (): Promise<PromTarget[]> => {
    const r = await getJson(`${url}/api/v1/targets?state=active`)
    const a = (r.body ?? {}) as ApiAnswer
    if (r.status !== 200 || a.status !== 'success') throw new Error(`targets failed: HTTP ${r.status} ${r.text.slice(0, 500)}`)
    return ((a.data as { activeTargets?: PromTarget[] }).activeTargets ?? [])
      .map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError }))
  }

  const waitForTargetUp = async (timeoutMs = 15_000): Promise<void> => {
    try {
      await waitFor('up{job="switchyard"}', (r) => r.length === 1 && r[0]!.value === 1, timeoutMs)
    } catch (e) {
      let detail: string
      try {
        detail = JSON.stringify(await targets())
      } catch (t) {
        detail = (t as Error).message
      }
      throw new Error(`${(e as Error).message}; targets: ${detail}`)
    }
  }

  return { url, port, dir, proc, output: () => log, query, waitFor, targets, waitForTargetUp, stop }
}

export interface CheckResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Pipes `text` into `promtool check metrics` (bounded by timeoutMs; then killed, code null). */
export function promtoolCheckMetrics(text: string, timeoutMs = 10_000): Promise<CheckResult> {
  const bin = findTool('promtool')
  if (bin === undefined) return Promise.reject(new Error('promtool is not on PATH (apt-get install prometheus)'))
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    proc.stdin.on('error', () => { /* promtool may exit before reading everything; its code tells */ })
    proc.once('error', (e) => { clearTimeout(timer); reject(e) })
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
    proc.stdin.end(text)
  })
}

/** One sample line of the text exposition format. */
export interface ExpositionSample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** Parses the sample lines of a text-format scrape (comments skipped; timestamps ignored). */
export function parseExposition(text: string): ExpositionSample[] {
  const out: ExpositionSample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\S+)?$/.exec(line)
    if (m === null) throw new Error(`unparsable exposition line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2] !== undefined) {
      const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy
      const body = m[2].slice(1, -1)
      let lm: RegExpExecArray | null
      while (re.lastIndex < body.length && (lm = re.exec(body)) !== null) {
        labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c))
      }
      if (re.lastIndex !== body.length && body.trim() !== '') throw new Error(`unparsable labels: ${line}`)
    }
    out.push({ name: m[1]!, labels, value: parseValue(m[3]!) })
  }
  return out
}

/** Sum of the values of `name` samples whose labels include every pair in `match`. */
export function sumSamples(samples: readonly ExpositionSample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)
}
