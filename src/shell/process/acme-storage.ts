// What the ACME manager keeps on disk, under `tls.acme.storage`, one directory per ACME
// server (its host and port, as certbot does: a staging certificate is never taken for a
// production one, and each server has its own account):
//   <storage>/<host>[_<port>]/account.key            the account's private key (0600), made once
//   <storage>/<host>[_<port>]/<first domain>.crt     the certificate chain, leaf first (0644)
//   <storage>/<host>[_<port>]/<first domain>.key     its private key (0600)
// Directories are made 0700. Files are written to a temporary name and renamed, so a crash
// never leaves half a file; a certificate and key that do not match (a crash between the two
// renames) read as no certificate, and a new one is ordered.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { certificateNames } from '../../core/sni.js'

/** A certificate and its key as stored, with what the manager decides on. */
export interface StoredCertificate {
  readonly cert: string
  readonly key: string
  readonly names: readonly string[]
  readonly notBeforeMs: number
  readonly notAfterMs: number
  readonly serial: string
}

export class AcmeStorage {
  readonly dir: string

  constructor(storage: string, directoryUrl: string) {
    const url = new URL(directoryUrl)
    this.dir = join(storage, url.port === '' ? url.hostname : `${url.hostname}_${url.port}`)
  }

  /** The account key: read, or made by `create` and stored (0600) the first time. */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const file = join(this.dir, 'account.key')
    const existing = await readIfExists(file)
    if (existing !== null) return existing
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const key = await create()
    try {
      await writeFile(file, key, { mode: 0o600, flag: 'wx' })
      return key
    } catch (err) {
      // Another listener of this daemon made it meanwhile: use theirs.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return await readFile(file)
      throw err
    }
  }

  /** The stored certificate for `name` (the first domain), or null when there is none usable. */
  async certificate(name: string): Promise<StoredCertificate | null> {
    const cert = await readIfExists(join(this.dir, `${name}.crt`))
    const key = await readIfExists(join(this.dir, `${name}.key`))
    if (cert === null || key === null) return null
    return describeCertificate(cert.toString('utf8'), key.toString('utf8'))
  }

  async saveCertificate(name: string, cert: string, key: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await replaceFile(join(this.dir, `${name}.key`), key, 0o600)
    await replaceFile(join(this.dir, `${name}.crt`), cert, 0o644)
  }
}

/** The facts of a PEM chain and key, or null when they are not a matching pair. */
export function describeCertificate(cert: string, key: string): StoredCertificate | null {
  try {
    const leaf = new X509Certificate(cert)
    if (!leaf.checkPrivateKey(createPrivateKey(key))) return null
    return {
      cert, key,
      names: certificateNames(leaf.subjectAltName, leaf.subject),
      notBeforeMs: Date.parse(leaf.validFrom),
      notAfterMs: Date.parse(leaf.validTo),
      serial: leaf.serialNumber,
    }
  } catch {
    return null
  }
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

async function replaceFile(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode })
  await rename(tmp, file)
}
