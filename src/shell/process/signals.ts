// The process's control signals, taken from its first moment. cli.ts creates the inbox
// before it loads anything else, so a SIGHUP sent right after exec (systemd, logrotate, a
// deploy script) never meets Node's default action, which would kill the daemon. Signals
// that arrive before anyone listens are kept, in order, and handed over on deliverTo().
// Node builtins only: this module loads before the Node version is known to be good.

export type ControlSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT'
const SIGNALS: readonly ControlSignal[] = ['SIGHUP', 'SIGTERM', 'SIGINT']

export class SignalInbox {
  #pending: ControlSignal[] = []
  #handler: ((signal: ControlSignal) => void) | null = null

  constructor() {
    for (const s of SIGNALS) process.on(s, () => this.#deliver(s))
  }

  /** From now on signals go to `handler`; the ones that came before go first, in order. */
  deliverTo(handler: (signal: ControlSignal) => void): void {
    this.#handler = handler
    for (const s of this.#pending.splice(0)) handler(s)
  }

  #deliver(signal: ControlSignal): void {
    if (this.#handler === null) this.#pending.push(signal)
    else this.#handler(signal)
  }
}
