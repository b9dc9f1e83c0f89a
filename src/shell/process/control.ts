// One process controller for both modes (a single process, or the primary of workers). It
// owns what happens to the process as a whole, from the first signal on:
// - readiness: /readyz answers 503 "starting" until the mode says every listener accepts
//   (with workers: every worker's), then 200; 503 "draining" from the first stop signal.
//   Under systemd (NOTIFY_SOCKET set) it tells the service manager READY=1 then, and
//   STOPPING=1 when the drain begins (`systemd-notify`, as Node cannot send the datagram).
// - SIGHUP: reads and checks the file, then applies it. One reload at a time; SIGHUPs that
//   arrive meanwhile fold into one more. A SIGHUP before the daemon is ready is kept and
//   applied once it is. Reload metrics are recorded here and nowhere else.
// - SIGTERM / SIGINT: a graceful drain (shutdown_timeout); a second one exits at once. One
//   that arrives during startup stops the daemon as soon as startup is over.
// The modes (single.ts, primary.ts) provide a Mode: apply a config, drain, kill.
import { spawn } from 'node:child_process'
import type { Config } from '../../config/types.js'
import { loadConfigFile, formatProblem } from '../../config/load.js'
import { restartNeeded } from '../../config/restart.js'
import type { Lifecycle } from '../runtime/context.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import type { ControlSignal, SignalInbox } from './signals.js'
import { noteCertificates } from './certificate-expiry.js'

/** What a running daemon offers the controller. */
export interface Mode {
  /** The config it runs. */
  readonly config: Config
  /** Swaps in a validated config (checked against the running one for restart-only keys). */
  apply(config: Config): void
  /** Graceful: stop accepting, let in-flight requests finish, close everything. */
  drain(): Promise<void>
  /** A second stop signal: cut everything now (the process exits next). */
  kill(): void
}

export class Control {
  /** Shared with the request path and the admin port. */
  readonly lifecycle: Lifecycle = { ready: false, draining: false, websockets: new Set() }
  /** Resolves with the process exit code once the daemon has stopped. */
  readonly stopped: Promise<number>
  readonly #file: string
  readonly #log: Logger
  readonly #metrics: Metrics
  #mode: Mode | null = null
  #resolve: (code: number) => void = () => {}
  #stopSignal: ControlSignal | null = null
  #reloadQueued = false
  #reloading: Promise<void> | null = null
  #again = false

  constructor(inbox: SignalInbox, file: string, log: Logger, metrics: Metrics) {
    this.#file = file
    this.#log = log
    this.#metrics = metrics
    this.stopped = new Promise((r) => { this.#resolve = r })
    metrics.lastReloadSuccess.setToCurrentTime()
    inbox.deliverTo((signal) => this.#onSignal(signal))
  }

  /** Startup is over: every listener accepts. A signal kept meanwhile is acted on now. */
  ready(mode: Mode, fields: Record<string, unknown>): void {
    this.#mode = mode
    noteCertificates(mode.config, this.#log, this.#metrics)
    this.lifecycle.ready = true
    this.#log.info(fields, 'ready')
    notifySystemd('READY=1', this.#log)
    if (this.#stopSignal !== null) this.#shutdown(this.#stopSignal)
    else if (this.#reloadQueued) this.#reload()
  }

  /** Startup failed (already logged): the process exits with `code`. */
  failed(code: number): void {
    this.#resolve(code)
  }

  #onSignal(signal: ControlSignal): void {
    if (signal === 'SIGHUP') {
      if (this.#stopSignal !== null) return
      if (this.#mode === null) {
        this.#reloadQueued = true
        this.#log.info({ signal }, 'reload asked before the daemon is ready: it runs once ready')
      } else this.#reload()
      return
    }
    if (this.#stopSignal !== null) {
      this.#log.warn({ signal }, 'second signal: exiting now')
      this.#mode?.kill()
      this.#resolve(1)
      return
    }
    this.#stopSignal = signal
    this.lifecycle.draining = true
    if (this.#mode === null) this.#log.info({ signal }, 'stop asked during startup: stopping once started')
    else this.#shutdown(signal)
  }

  #shutdown(signal: ControlSignal): void {
    const mode = this.#mode as Mode
    this.#log.info({ signal, timeout_ms: mode.config.shutdownTimeoutMs }, 'shutting down: draining in-flight requests')
    notifySystemd('STOPPING=1', this.#log)
    void mode.drain().then(() => {
      this.#log.info('stopped')
      this.#resolve(0)
    })
  }

  /** One reload at a time; signals during one fold into one more. */
  #reload(): void {
    if (this.#reloading !== null) {
      this.#again = true
      return
    }
    this.#reloading = (async () => {
      do {
        this.#again = false
        await this.#reloadOnce()
      } while (this.#again && !this.lifecycle.draining)
      this.#reloading = null
    })()
  }

  async #reloadOnce(): Promise<void> {
    const mode = this.#mode as Mode
    const result = await readReload(this.#file, mode.config)
    if (this.lifecycle.draining) return
    if ('problems' in result) {
      this.#metrics.configReloads.inc({ result: 'failure' })
      this.#log.error({ config: this.#file, problems: result.problems }, 'reload refused: the running config stays')
      return
    }
    mode.apply(result.config)
    noteCertificates(result.config, this.#log, this.#metrics)
    this.#metrics.configReloads.inc({ result: 'success' })
    this.#metrics.lastReloadSuccess.setToCurrentTime()
    this.#log.info({ config: this.#file }, 'config reloaded')
  }
}

/** Validates a new config against the running one: every problem, as log-ready strings. */
async function readReload(file: string, running: Config): Promise<{ config: Config } | { problems: string[] }> {
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) return { problems: loaded.problems.map(formatProblem) }
  const problems = restartNeeded(running, loaded.config)
  return problems.length > 0 ? { problems } : { config: loaded.config }
}

/**
 * sd_notify through systemd-notify (Node has no AF_UNIX datagram sockets), only under a
 * service manager that asked for it. systemd-notify waits until the manager has taken the
 * message, so it is not lost when the helper exits at once (the unit has NotifyAccess=all).
 */
function notifySystemd(state: string, log: Logger): void {
  if (process.env.NOTIFY_SOCKET === undefined || process.env.NOTIFY_SOCKET === '') return
  const child = spawn('systemd-notify', [`--pid=${process.pid}`, state], { stdio: 'ignore' })
  child.once('error', (err) => log.warn({ err: (err as NodeJS.ErrnoException).code ?? String(err), state }, 'systemd-notify could not run'))
  child.once('exit', (code) => { if (code !== 0) log.warn({ code, state }, 'systemd-notify failed') })
}
