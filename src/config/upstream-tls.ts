// `upstreams.<name>.tls` and `http2`: how switchyard talks to https:// servers. The PEM
// files are read and checked here, at config load (a missing file, a file that holds no
// certificate, a key that does not match its certificate are problems with their key path;
// `switchyard check` reports them), and their contents are kept in the config: a reload
// re-reads them, and the request path never touches the disk.
// `verify: false` is allowed (a lab's self-signed server) but is the only way to accept a
// certificate that does not verify: a failure is otherwise a 502 with reason `tls`.
import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { isAbsolute } from 'node:path'
import { checkMap, readBool, readString } from './fields.js'
import type { Cursor } from './fields.js'
import { isHostname } from './network.js'
import { describe } from './problems.js'
import type { UpstreamTlsConfig } from './types.js'

const TLS_KEYS = ['ca_file', 'server_name', 'verify', 'cert_file', 'key_file']

/** Absent = the defaults (system CAs, verify on, SNI from the URL's host, no client certificate). */
export function readUpstreamTls(c: Cursor, anyHttps: boolean): UpstreamTlsConfig | null {
  if (c.absent) return null
  if (!checkMap(c, TLS_KEYS) || !(c.value instanceof Map)) return null
  if (!anyHttps) c.report('applies to https:// servers only, and this upstream has none: write the server URLs with https://')
  const caFile = c.field('ca_file')
  const ca = caFile.absent ? null : readPem(caFile, 'certificate')
  const nameCursor = c.field('server_name')
  const serverName = nameCursor.absent ? null : readString(nameCursor, '')
  if (serverName !== null && serverName !== '' && !isHostname(serverName)) nameCursor.report(`must be a DNS name such as "app.internal" (got ${describe(serverName)})`)
  const certCursor = c.field('cert_file')
  const keyCursor = c.field('key_file')
  if (!certCursor.absent && keyCursor.absent) keyCursor.missing(null, 'required with cert_file (the client certificate\'s private key)')
  if (certCursor.absent && !keyCursor.absent) certCursor.missing(null, 'required with key_file (the client certificate)')
  const cert = certCursor.absent ? null : readPem(certCursor, 'certificate')
  const key = keyCursor.absent ? null : readPem(keyCursor, 'key')
  if (cert !== null && key !== null) {
    try {
      createSecureContext({ cert, key })
    } catch (err) {
      keyCursor.report(`does not match cert_file ${String(certCursor.value)} (${(err as { code?: string }).code ?? 'mismatch'})`)
    }
  }
  return {
    caFile: ca === null ? null : String(caFile.value),
    ca,
    serverName: serverName === '' ? null : serverName,
    verify: readBool(c.field('verify'), true),
    certFile: cert === null ? null : String(certCursor.value),
    cert,
    keyFile: key === null ? null : String(keyCursor.value),
    key,
  }
}

/** A PEM file's text, checked to hold a certificate (the first one parses) or a private key. */
function readPem(c: Cursor, what: 'certificate' | 'key'): string | null {
  const file = readString(c, '')
  if (file === '') return null
  if (!isAbsolute(file)) {
    c.report(`must be an absolute path (got ${describe(file)})`)
    return null
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    c.report(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    return null
  }
  try {
    if (what === 'certificate') new X509Certificate(text)
    else createPrivateKey(text)
  } catch {
    c.report(`${file} holds no PEM ${what === 'certificate' ? 'certificate' : 'private key'}`)
    return null
  }
  return text
}
