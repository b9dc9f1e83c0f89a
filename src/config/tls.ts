// A listener's `tls:` block. The certificate and key files are read here, at config load
// (start, `switchyard check`, every SIGHUP), and each pair is checked the way the TLS
// server will use it: a PEM certificate, a PEM private key, the key matching the
// certificate, and OpenSSL accepting both (tls.createSecureContext). A missing, unreadable
// or mismatched pair is a problem at its key path with the file's path in the message, so a
// reload that would break HTTPS is refused and the running certificates keep serving.
// The PEM texts travel in the Config (to cluster workers too): workers never read the files,
// so every process serves the pair the primary checked. `acme` (acme.ts) makes `certificates`
// optional: until the first ACME certificate is issued such a listener has none to offer.

import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { certificateNames } from '../core/sni.js'
import { readAcme } from './acme.js'
import { checkMap, Cursor, readEnum, readList, readString, REQUIRED } from './fields.js'
import { readPem } from './pem-file.js'
import type { TlsCertificateConfig, TlsConfig } from './types.js'

const TLS_KEYS = ['certificates', 'min_version', 'acme']
const CERTIFICATE_KEYS = ['cert_file', 'key_file']
const VERSIONS = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const

export function readTls(c: Cursor): TlsConfig | null {
  if (c.absent) return null
  if (!checkMap(c, TLS_KEYS) || !(c.value instanceof Map)) return null
  // With acme, certificates are optional: the ACME ones serve once issued.
  const acme = readAcme(c.field('acme'))
  const certificates: TlsCertificateConfig[] = []
  for (const item of readList(c.field('certificates'), acme === null ? 1 : 0, 'certificate')) {
    if (!checkMap(item, CERTIFICATE_KEYS)) continue
    const pair = readPair(item)
    if (pair !== null) certificates.push(pair)
  }
  // YAML reads 1.2 unquoted as a number: accept both spellings.
  const v = c.field('min_version')
  const written = typeof v.value === 'number' ? v.value.toFixed(1) : v.value
  const version = readEnum(new Cursor(v.problems, v.path, written, v.silent), ['1.2', '1.3'] as const, '1.2')
  return { certificates, minVersion: VERSIONS[version], acme }
}

function readPair(c: Cursor): TlsCertificateConfig | null {
  const certCursor = c.field('cert_file')
  const keyCursor = c.field('key_file')
  const certFile = readString(certCursor, REQUIRED)
  const keyFile = readString(keyCursor, REQUIRED)
  const cert = certFile === '' ? null : readPem(certCursor, certFile, 'certificate')
  const key = keyFile === '' ? null : readPem(keyCursor, keyFile, 'private key')
  if (cert === null || key === null) return null

  let leaf: X509Certificate
  try {
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM block')
    leaf = new X509Certificate(cert)
  } catch {
    certCursor.report(`${certFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
    return null
  }
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    keyCursor.report(code === 'ERR_MISSING_PASSPHRASE'
      ? `${keyFile} is an encrypted private key: switchyard reads unencrypted PEM keys only (protect the file with its permissions)`
      : `${keyFile} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`)
    return null
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    keyCursor.report(`the key in ${keyFile} does not match the certificate in ${certFile}`)
    return null
  }
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error'
    certCursor.report(`OpenSSL refuses ${certFile} with ${keyFile} (${code})`)
    return null
  }
  return { certFile, keyFile, cert, key, names: certificateNames(leaf.subjectAltName, leaf.subject), notAfterMs: Date.parse(leaf.validTo) }
}
