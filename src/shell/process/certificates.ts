// The certificates of one TLS listener, as OpenSSL secure contexts built once per set (start,
// reload, a certificate installed at runtime), never per handshake. The server asks
// `sni(servername)` during each handshake that names a host (SNICallback): an exact name,
// then a wildcard, else the first certificate (core/sni.ts); a client that sends no name
// gets the first one, the server's default context.
// `replace()` is a reload (every pair checked by the config loader already); `install()` is
// for a source of certificates at runtime (ACME: process/acme.ts): it checks the pair, and its
// names then win over the configured certificates' (a reload keeps them). A listener with no
// configured certificate (acme only) has no default context until the first install(): a
// handshake then fails; the first installed pair becomes its default (clients without SNI).
// Hardening (docs/tls.md#hardening): TLS 1.2 or 1.3 only; for TLS 1.2 only ECDHE key exchange
// with AEAD suites (AES-GCM, ChaCha20-Poly1305: no RC4, 3DES, CBC or SHA-1 MACs), the
// server's preference order; session tickets and the session cache on (Node's defaults).
import { X509Certificate } from 'node:crypto'
import tls, { type SecureContext, type SecureContextOptions } from 'node:tls'
import type { TlsConfig } from '../../config/types.js'
import { certificateNames, sniPick, sniTable, type SniTable } from '../../core/sni.js'

/** Mozilla's "intermediate" TLS 1.2 list without DHE (slow, and finite-field groups are weak when small). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

interface Pair {
  readonly cert: string
  readonly key: string
}

export class CertificateStore {
  readonly #minVersion: TlsConfig['minVersion']
  #contexts: SecureContext[] = []
  #table: SniTable = sniTable([])
  #installed = new Map<string, SecureContext>()
  #installedWildcard = new Map<string, SecureContext>()
  /** Called with the new default pair when it changes (the server's own context: clients without SNI). */
  onDefaultChange: ((options: SecureContextOptions) => void) | null = null

  constructor(config: TlsConfig) {
    this.#minVersion = config.minVersion
    this.replace(config)
  }

  /** The options of a context (and of the server's default one) for a pair; null: no certificate yet. */
  contextOptions(pair: Pair | null): SecureContextOptions {
    return {
      ...(pair === null ? {} : { cert: pair.cert, key: pair.key }),
      minVersion: this.#minVersion,
      maxVersion: 'TLSv1.3',
      ciphers: TLS12_CIPHERS, // TLS 1.3 suites are all AEAD: OpenSSL's defaults
      honorCipherOrder: true,
    }
  }

  /** A reload: the configured pairs (checked at load) replace the running ones; installed ones stay. */
  replace(config: TlsConfig): void {
    this.#contexts = config.certificates.map((c) => tls.createSecureContext(this.contextOptions(c)))
    this.#table = sniTable(config.certificates.map((c) => c.names))
    const first = config.certificates[0] ?? this.#lastInstalled
    if (first !== null) this.onDefaultChange?.(this.contextOptions(first))
    this.defaultPair = first
  }

  /** The pair installed last: the default of a listener without configured certificates. */
  #lastInstalled: Pair | null = null

  /** The first configured pair: the server's default context. */
  defaultPair: Pair | null = null

  /**
   * Serves `cert` (PEM, leaf first) with `key` for the names of the certificate from the next
   * handshake on. Throws, changing nothing, when the pair is unusable. Returns the names.
   */
  install(cert: string, key: string): string[] {
    const leaf = new X509Certificate(cert)
    const context = tls.createSecureContext(this.contextOptions({ cert, key })) // throws on a mismatched pair
    const names = certificateNames(leaf.subjectAltName, leaf.subject)
    for (const name of names) {
      if (name.startsWith('*.')) this.#installedWildcard.set(name.slice(2), context)
      else this.#installed.set(name, context)
    }
    this.#lastInstalled = { cert, key }
    if (this.#contexts.length === 0) {
      this.defaultPair = this.#lastInstalled
      this.onDefaultChange?.(this.contextOptions(this.#lastInstalled))
    }
    return names
  }

  /** The context for a handshake that names `servername`. */
  sni(servername: string): SecureContext | undefined {
    if (this.#installed.size > 0 || this.#installedWildcard.size > 0) {
      const name = servername.toLowerCase()
      const exact = this.#installed.get(name)
      if (exact !== undefined) return exact
      const dot = name.indexOf('.')
      const wild = dot > 0 ? this.#installedWildcard.get(name.slice(dot + 1)) : undefined
      if (wild !== undefined) return wild
    }
    return this.#contexts[sniPick(this.#table, servername)]
  }

  /** tls.Server's SNICallback. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.sni(servername))
  }
}
