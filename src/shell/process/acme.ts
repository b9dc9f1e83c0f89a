// Automatic certificates (RFC 8555) for TLS listeners with `tls.acme`, through the acme-client
// library (JWS, nonces and polling are its business). One manager per daemon, in the process
// that loads the config: the single process, or the primary of workers (it pushes each new
// certificate and each HTTP-01 token to the workers over IPC: primary.ts). Per listener:
// - load (before the listeners serve): a stored certificate (acme-storage.ts) that is still
//   valid is installed at once; run (once they serve): no order while it covers the domains
//   and is not due, else an order starts in the background;
// - an order: account key (made once, stored 0600), a new ECDSA P-256 key and CSR, HTTP-01
//   answered by every plain listener (the token is handed out and acknowledged before the
//   ACME server is told to validate), then the chain is stored and installed into the running
//   listeners (CertificateStore.install: new handshakes get it, open connections keep theirs);
// - renewal at core/acme-renewal.ts's due time, by a timer (clamped to Node's longest);
// - a failure is logged and counted, and retried with backoff (1 min to 1 h); the last good
//   certificate keeps serving. Nothing here throws into the daemon.
// The manager runs no per-request code: plain listeners answer challenges from a Map
// (request/acme-challenge.ts).
import https from 'node:https'
import tls from 'node:tls'
import acme from 'acme-client'
import type { AcmeConfig, Config } from '../../config/types.js'
import { MAX_TIMER_MS } from '../../config/duration.js'
import { orderRetryMs, renewalDue } from '../../core/acme-renewal.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import { AcmeStorage, describeCertificate, type StoredCertificate } from './acme-storage.js'
import type { IssuedCertificate } from './ipc.js'

/** What the manager needs from the processes that serve traffic. */
export interface AcmeTargets {
  /** Serve this certificate on its listener from the next handshake on (every serving process). */
  install(certificate: IssuedCertificate): void
  /** Answer (or, with null, stop answering) an HTTP-01 token; resolves once every serving process does. */
  challenge(token: string, keyAuthorization: string | null): Promise<void>
}

/** How long one ACME request may take (acme-client's axios has no limit of its own). */
const REQUEST_TIMEOUT_MS = 30_000

export class AcmeManager {
  readonly #listeners: ListenerAcme[]

  constructor(config: Config, log: Logger, metrics: Metrics, targets: AcmeTargets) {
    const acmeListeners = config.listeners.flatMap((l) => (l.tls?.acme == null ? [] : [{ name: l.name, acme: l.tls.acme }]))
    configureHttp(acmeListeners.map((l) => l.acme))
    const accounts = new Map<string, Promise<Buffer>>()
    this.#listeners = acmeListeners.map((l) => new ListenerAcme(l.name, l.acme, log.child({ listener: l.name, acme: l.acme.directory }), metrics, targets, accounts))
  }

  /** True when some listener has tls.acme. */
  get active(): boolean {
    return this.#listeners.length > 0
  }

  /** Installs the stored certificates that can serve. */
  async load(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => l.load()))
  }

  /**
   * Orders what is missing or due, in the background, then renews on time. Called once the
   * listeners serve (with workers: once every worker is ready), as the ACME server's
   * validation request may come at once.
   */
  run(): void {
    for (const l of this.#listeners) l.run()
  }

  /** The certificates in use now, for a worker that starts. */
  current(): IssuedCertificate[] {
    return this.#listeners.flatMap((l) => l.current === null ? [] : [{ listener: l.listener, cert: l.current.cert, key: l.current.key }])
  }

  /** No further orders (an order under way finishes, unheard). */
  stop(): void {
    for (const l of this.#listeners) l.stop()
  }
}

/**
 * acme-client talks HTTPS through one axios instance: a request timeout, and the CAs every
 * `ca_file` names besides the system's (a private ACME server such as pebble or step-ca).
 */
function configureHttp(configs: readonly AcmeConfig[]): void {
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS
  const extra = configs.flatMap((c) => (c.ca === null ? [] : [c.ca]))
  if (extra.length > 0) acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, ...extra], keepAlive: true })
}

class ListenerAcme {
  readonly listener: string
  readonly #config: AcmeConfig
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly #targets: AcmeTargets
  readonly #storage: AcmeStorage
  readonly #accounts: Map<string, Promise<Buffer>>
  /** The certificate served now. */
  current: StoredCertificate | null = null
  #timer: NodeJS.Timeout | null = null
  #failures = 0
  #stopped = false

  constructor(listener: string, config: AcmeConfig, log: Logger, metrics: Metrics, targets: AcmeTargets, accounts: Map<string, Promise<Buffer>>) {
    this.listener = listener
    this.#config = config
    this.#log = log
    this.#metrics = metrics
    this.#targets = targets
    this.#accounts = accounts
    this.#storage = new AcmeStorage(config.storage, config.directory)
    // Zero-valued series from the start, so rate() and increase() see the first order.
    metrics.acmeOrders.inc({ listener, result: 'success' }, 0)
    metrics.acmeOrders.inc({ listener, result: 'failure' }, 0)
  }

  get #name(): string {
    return this.#config.domains[0] as string
  }

  /** Installs the stored certificate while it is valid (run() decides whether to order). */
  async load(): Promise<void> {
    let stored: StoredCertificate | null = null
    try {
      stored = await this.#storage.certificate(this.#name)
    } catch (err) {
      this.#log.error({ err: errorText(err), storage: this.#storage.dir }, 'ACME storage unreadable: ordering a new certificate')
    }
    if (stored === null) return
    const due = renewalDue(stored, this.#config.domains, this.#config.renewBeforeMs)
    // Due, or for other names: still better than nothing while the new one is ordered.
    if (stored.notAfterMs > Date.now()) this.#use(stored)
    this.#log.info(this.#fields(stored), due > Date.now() ? 'ACME certificate loaded from storage' : 'ACME certificate in storage is due for renewal or lacks a domain: ordering')
  }

  /** Orders now when there is no good certificate, else at its renewal. */
  run(): void {
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #use(cert: StoredCertificate): void {
    this.current = cert
    this.#targets.install({ listener: this.listener, cert: cert.cert, key: cert.key })
    this.#metrics.setAcmeCertificate(this.listener, cert.names[0] ?? this.#name, cert.notAfterMs)
  }

  #fields(cert: StoredCertificate): Record<string, unknown> {
    const due = renewalDue(cert, this.#config.domains, this.#config.renewBeforeMs)
    return {
      domains: this.#config.domains, serial: cert.serial, not_after: new Date(cert.notAfterMs).toISOString(),
      renew_at: Number.isFinite(due) ? new Date(due).toISOString() : 'now',
    }
  }

  /** The next renewal of the current certificate. */
  #schedule(): void {
    const due = this.current === null ? Date.now() : renewalDue(this.current, this.#config.domains, this.#config.renewBeforeMs)
    this.#at(Math.max(0, due - Date.now()))
  }

  #at(delayMs: number): void {
    if (this.#stopped) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    // A renewal months away: wake at Node's longest delay and decide again.
    const wait = Math.min(delayMs, MAX_TIMER_MS)
    this.#timer = setTimeout(() => {
      this.#timer = null
      if (wait < delayMs) this.#schedule()
      else void this.#order()
    }, wait)
    this.#timer.unref()
  }

  async #order(): Promise<void> {
    if (this.#stopped) return
    const started = Date.now()
    this.#log.info({ domains: this.#config.domains }, 'ACME order started')
    try {
      const issued = await this.#obtain()
      if (this.#stopped) return
      await this.#storage.saveCertificate(this.#name, issued.cert, issued.key)
      this.#use(issued)
      this.#failures = 0
      this.#metrics.acmeOrders.inc({ listener: this.listener, result: 'success' })
      this.#log.info({ ...this.#fields(issued), duration_ms: Date.now() - started }, 'ACME certificate issued')
      this.#schedule()
    } catch (err) {
      if (this.#stopped) return
      this.#failures++
      const retry = orderRetryMs(this.#failures)
      this.#metrics.acmeOrders.inc({ listener: this.listener, result: 'failure' })
      const serving = this.current === null ? {} : { serving_serial: this.current.serial, serving_not_after: new Date(this.current.notAfterMs).toISOString() }
      this.#log.error({ domains: this.#config.domains, err: errorText(err), failures: this.#failures, retry_in_ms: retry, ...serving }, 'ACME order failed: retrying later')
      this.#at(retry)
    }
  }

  /** One order, from account to certificate chain; throws on any failure. */
  async #obtain(): Promise<StoredCertificate> {
    const accountKey = await this.#accountKey()
    const client = new acme.Client({ directoryUrl: this.#config.directory, accountKey, backoffAttempts: 10, backoffMin: 500, backoffMax: 10_000 })
    const [key, csr] = await acme.crypto.createCsr({ commonName: this.#name, altNames: [...this.#config.domains] }, await acme.crypto.createPrivateEcdsaKey('P-256'))
    const tokens = new Set<string>()
    try {
      const chain = await client.auto({
        csr,
        ...(this.#config.email === null ? {} : { email: this.#config.email }),
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // acme-client would fetch http://<domain>/.well-known/... itself first: the ACME server's check is the one that counts.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          tokens.add(challenge.token)
          await this.#targets.challenge(challenge.token, keyAuthorization)
        },
        challengeRemoveFn: async (_authz, challenge) => {
          tokens.delete(challenge.token)
          await this.#targets.challenge(challenge.token, null)
        },
      })
      const issued = describeCertificate(chain, key.toString('utf8'))
      if (issued === null) throw new Error('the ACME server returned a certificate that does not match the key of the CSR')
      return issued
    } finally {
      // A failed order may leave tokens handed out.
      for (const token of tokens) await this.#targets.challenge(token, null).catch(() => {})
    }
  }

  #accountKey(): Promise<Buffer> {
    let key = this.#accounts.get(this.#storage.dir)
    if (key === undefined) {
      key = this.#storage.accountKey(() => acme.crypto.createPrivateEcdsaKey('P-256'))
      // A failure (unwritable storage) is tried again with the next order.
      key.catch(() => this.#accounts.delete(this.#storage.dir))
      this.#accounts.set(this.#storage.dir, key)
    }
    return key
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code === undefined ? err.message : `${(err as NodeJS.ErrnoException).code as string}: ${err.message}`
  return String(err)
}
