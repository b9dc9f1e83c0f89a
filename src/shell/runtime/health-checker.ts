// Active health checks: each server is probed every `interval` with GET `path`. Probes
// use their own undici Client per server (never a slot of the data Pool) and a fresh
// connection each time (`reset: true`: a probe must also prove the server still accepts
// connections, and a stale kept-alive socket must not fail it). Each server's schedule
// starts at a random point of the first interval and every wait is jittered by +-10%, so
// many servers are not probed at the same instant.
// A probe's headers are made once per server: Host is `health_check.host`, else the
// server's host:port (`localhost` for a Unix socket, which has no port), plus the
// configured `headers`. A Unix-socket server is probed over its socket.
// DNS discovery changes the servers of a running checker (setTargets): the loops of servers
// that stay go on, new servers get a loop of their own, those of leavers stop.
import { Client } from 'undici'
import type { HealthCheckConfig } from '../../config/types.js'
import { classifyError } from '../../core/errors.js'
import { statusExpected } from '../../core/health.js'
import type { Transport } from './server-transport.js'

export interface ProbeTarget {
  readonly id: string // host:port, or unix:/path
  readonly url: string
  readonly socketPath: string | null
}

/** The origin undici is given for a Unix socket, and the Host a probe sends there by default. */
const UNIX_ORIGIN = 'http://localhost'

/** The headers of every probe of one server, made once. */
export function probeHeaders(target: ProbeTarget, cfg: HealthCheckConfig): Record<string, string> {
  const headers: Record<string, string> = { host: cfg.host ?? (target.socketPath === null ? target.id : 'localhost'), 'user-agent': 'switchyard-health-check' }
  for (const [name, value] of cfg.headers) headers[name.toLowerCase()] = value
  return headers
}

export type ProbeListener = (target: ProbeTarget, ok: boolean, detail: string) => void

const JITTER = 0.1

/** What a failed probe says, for the state-change log line: "status 500", "connect refused", "timeout after 1s". */
function failureDetail(err: unknown, timeoutMs: number): string {
  const cls = classifyError(err)
  switch (cls.reason) {
    case 'connect_refused': return 'connect refused'
    case 'connect_timeout': return `connect timeout after ${timeoutMs / 1000}s`
    case 'response_timeout': return `timeout after ${timeoutMs / 1000}s`
    case 'reset': return 'connection reset'
    case 'tls': return `TLS handshake failed (${(err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? 'unknown'})`
    default: {
      const e = err as { code?: string; name?: string } | null
      return e?.name === 'TimeoutError' ? `timeout after ${timeoutMs / 1000}s` : `error ${e?.code ?? e?.name ?? 'unknown'}`
    }
  }
}

class ProbeLoop {
  readonly #target: ProbeTarget
  readonly #cfg: HealthCheckConfig
  readonly #onResult: ProbeListener
  readonly #random: () => number
  readonly #client: Client
  readonly #headers: Record<string, string>
  readonly #serverName: string | null
  #timer: NodeJS.Timeout | null = null
  #stopped = false

  constructor(target: ProbeTarget, cfg: HealthCheckConfig, onResult: ProbeListener, random: () => number, transport: Transport | null) {
    this.#target = target
    this.#cfg = cfg
    this.#onResult = onResult
    this.#random = random
    this.#headers = probeHeaders(target, cfg)
    this.#serverName = transport?.serverName(target.url) ?? null
    this.#client = new Client(target.socketPath === null ? target.url : UNIX_ORIGIN, {
      ...transport?.options, // the upstream's TLS and HTTP/2 settings, as its data Pools
      ...(target.socketPath === null ? {} : { socketPath: target.socketPath }),
      connect: { ...transport?.options.connect, timeout: cfg.timeoutMs },
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
      pipelining: 1,
    })
  }

  start(): void {
    this.#schedule(this.#random() * this.#cfg.intervalMs)
  }

  stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    return this.#client.destroy()
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => void this.#probe(), delayMs)
    this.#timer.unref()
  }

  async #probe(): Promise<void> {
    const cfg = this.#cfg
    let ok = false
    let detail: string
    try {
      const res = await this.#client.request({
        path: cfg.path,
        method: 'GET',
        headers: this.#headers,
        reset: true,
        ...(this.#serverName === null ? {} : { servername: this.#serverName }),
        signal: AbortSignal.timeout(cfg.timeoutMs), // bounds the whole probe, body included
      })
      await res.body.dump()
      ok = statusExpected(cfg.expectedStatus, res.statusCode)
      detail = `status ${res.statusCode}`
    } catch (err) {
      detail = failureDetail(err, cfg.timeoutMs)
    }
    if (this.#stopped) return
    this.#onResult(this.#target, ok, detail)
    this.#schedule(cfg.intervalMs * (1 - JITTER + 2 * JITTER * this.#random()))
  }
}

/** Probes every target of one upstream until stopped. */
export class HealthChecker {
  /** By target id. */
  #loops: Map<string, ProbeLoop>
  readonly #cfg: HealthCheckConfig
  readonly #onResult: ProbeListener
  readonly #transport: Transport | null
  readonly #random: () => number
  #started = false

  /** `transport`: the upstream's (server-transport.ts), so probes connect as its traffic does. */
  constructor(targets: readonly ProbeTarget[], cfg: HealthCheckConfig, onResult: ProbeListener, transport: Transport | null = null, random: () => number = Math.random) {
    this.#cfg = cfg
    this.#onResult = onResult
    this.#transport = transport
    this.#random = random
    this.#loops = new Map(targets.map((t) => [t.id, this.#loop(t)]))
  }

  #loop(t: ProbeTarget): ProbeLoop {
    return new ProbeLoop(t, this.#cfg, this.#onResult, this.#random, this.#transport)
  }

  start(): void {
    this.#started = true
    for (const l of this.#loops.values()) l.start()
  }

  /** The servers changed (DNS discovery): new ones are probed from now on, removed ones no more. */
  setTargets(targets: readonly ProbeTarget[]): void {
    const next = new Map<string, ProbeLoop>()
    for (const t of targets) {
      const kept = this.#loops.get(t.id)
      if (kept !== undefined) {
        next.set(t.id, kept)
        continue
      }
      const loop = this.#loop(t)
      next.set(t.id, loop)
      if (this.#started) loop.start()
    }
    for (const [id, l] of this.#loops) if (!next.has(id)) void l.stop()
    this.#loops = next
  }

  async stop(): Promise<void> {
    this.#started = false
    await Promise.all([...this.#loops.values()].map((l) => l.stop()))
  }
}
