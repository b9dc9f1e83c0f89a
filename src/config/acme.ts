// A TLS listener's `tls.acme` block (RFC 8555): where to get certificates and for which
// names. Only what can be checked without the network is checked here (at start, `switchyard
// check`, every reload): an https:// directory URL, DNS names HTTP-01 can prove (no wildcard,
// no IP address), an absolute storage directory that is (or can be made) writable, a readable
// `ca_file` with a certificate in it. The storage directory need not exist: the ACME manager
// (shell/process/acme.ts) makes it.
// `renew_before` may exceed the longest Node.js timer (30 days is the default): the manager
// clamps its waits, not the config.
import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, isAbsolute, normalize } from 'node:path'
import { parseDuration } from './duration.js'
import { checkMap, readList, readString, REQUIRED, type Cursor } from './fields.js'
import { isHostname } from './network.js'
import { describe } from './problems.js'
import { readPem } from './pem-file.js'
import type { AcmeConfig } from './types.js'

const ACME_KEYS = ['directory', 'email', 'domains', 'storage', 'ca_file', 'renew_before']
export const DEFAULT_RENEW_BEFORE_MS = 30 * 86_400_000
/** A year: a longer renew_before would renew every certificate as soon as it is issued. */
const MAX_RENEW_BEFORE_MS = 365 * 86_400_000

export function readAcme(c: Cursor): AcmeConfig | null {
  if (c.absent) return null
  if (!checkMap(c, ACME_KEYS) || !(c.value instanceof Map)) return null
  const directoryCursor = c.field('directory')
  const directory = readString(directoryCursor, REQUIRED)
  if (directory !== '' && !isHttpsUrl(directory)) directoryCursor.report(`must be the https:// URL of an ACME directory, such as https://acme-v02.api.letsencrypt.org/directory (got ${describe(directory)})`)

  const emailCursor = c.field('email')
  const email = emailCursor.absent ? null : readString(emailCursor, '')
  if (email !== null && email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email)) emailCursor.report(`must be an email address such as ops@example.com (got ${describe(email)})`)

  const domains: string[] = []
  for (const item of readList(c.field('domains'), 1, 'domain')) {
    const name = typeof item.value === 'string' ? item.value.toLowerCase() : ''
    if (typeof item.value !== 'string') item.report(`must be a DNS name as a string (got ${describe(item.value)})`)
    else if (name.startsWith('*.')) item.report('a wildcard name needs the DNS-01 challenge; switchyard answers HTTP-01 only: list each name')
    else if (isIP(name) !== 0 || !isHostname(name)) item.report(`must be a DNS name such as example.com (got ${describe(item.value)})`)
    else if (domains.includes(name)) item.report(`"${name}" is listed twice`)
    else domains.push(name)
  }

  const storageCursor = c.field('storage')
  const storage = readString(storageCursor, REQUIRED)
  // Relative to what? The daemon's working directory is "/" under systemd.
  if (storage !== '' && !isAbsolute(storage)) storageCursor.report(`must be an absolute path (got "${storage}")`)
  else if (storage !== '') checkStorage(storageCursor, storage)

  const caCursor = c.field('ca_file')
  const caFile = caCursor.absent ? null : readString(caCursor, '')
  let ca: string | null = null
  if (caFile !== null && caFile !== '') {
    ca = readPem(caCursor, caFile, 'certificate')
    if (ca !== null) {
      try {
        if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM block')
        new X509Certificate(ca)
      } catch {
        caCursor.report(`${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
        ca = null
      }
    }
  }
  return { directory, email: email === '' ? null : email, domains, storage, caFile: caFile === '' ? null : caFile, ca, renewBeforeMs: readRenewBefore(c.field('renew_before')) }
}

/**
 * The storage directory, or the nearest directory above it when it does not exist yet (the
 * manager makes it), must be writable: a read-only one (ProtectSystem=strict without a
 * StateDirectory) is reported at load rather than at the first order.
 */
function checkStorage(c: Cursor, storage: string): void {
  let dir = normalize(storage)
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) {
        c.report(`"${dir}" is not a directory`)
        return
      }
      accessSync(dir, constants.W_OK | constants.X_OK)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(dir) !== dir) {
        dir = dirname(dir)
        continue
      }
      c.report(code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `directory "${dir}" is not writable by this process (${code})${dir === normalize(storage) ? '' : `: switchyard cannot make ${storage}`}`
        : `cannot use directory "${dir}" (${code ?? 'error'})`)
      return
    }
  }
}

function isHttpsUrl(s: string): boolean {
  try {
    const url = new URL(s)
    return url.protocol === 'https:' && url.hostname !== ''
  } catch {
    return false
  }
}

/** A duration up to a year: longer than a Node.js timer, unlike readDuration's. */
function readRenewBefore(c: Cursor): number {
  if (c.absent) return DEFAULT_RENEW_BEFORE_MS
  const ms = typeof c.value === 'string' ? parseDuration(c.value) : undefined
  if (ms === undefined) {
    c.report(`must be a duration with a unit such as "720h" (30 days) or "10m" (got ${describe(c.value)})`)
    return NaN
  }
  if (ms <= 0 || ms > MAX_RENEW_BEFORE_MS) {
    c.report(`must be greater than 0 and at most 8760h (a year) (got ${describe(c.value)})`)
    return NaN
  }
  return ms
}
