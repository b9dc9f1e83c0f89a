// The ACME manager's files (shell/process/acme-storage.ts) on a real temp dir: one directory
// per ACME server, keys 0600 in a 0700 directory, the account key made once (a second maker
// is not called), a stored pair read back with its dates and names, and a certificate whose
// key does not match it (a crash between the two renames) read as none.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AcmeStorage } from '../../src/shell/process/acme-storage.js'
import { makePki, type Pki } from '../helpers/pki.js'

let pki: Pki
beforeAll(() => { pki = makePki() })
afterAll(async () => { await pki.close() })

describe('AcmeStorage', () => {
  it('keeps one directory per ACME server, keys private', async () => {
    const root = mkdtempSync(join(tmpdir(), 'switchyard-acme-storage-'))
    const storage = new AcmeStorage(join(root, 'acme'), 'https://127.0.0.1:14000/dir')
    expect(storage.dir).toBe(join(root, 'acme', '127.0.0.1_14000'))
    expect(new AcmeStorage(root, 'https://acme-v02.api.letsencrypt.org/directory').dir).toBe(join(root, 'acme-v02.api.letsencrypt.org'))

    let made = 0
    const make = async (): Promise<Buffer> => Buffer.from(`key ${++made}`)
    expect((await storage.accountKey(make)).toString()).toBe('key 1')
    expect((await storage.accountKey(make)).toString()).toBe('key 1')
    expect(made).toBe(1)
    expect(statSync(storage.dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(storage.dir, 'account.key')).mode & 0o777).toBe(0o600)

    expect(await storage.certificate('a.example.com')).toBeNull()
    const issued = pki.issue('a', ['a.example.com', 'b.example.com'], 10)
    await storage.saveCertificate('a.example.com', issued.cert, readFileSync(issued.keyFile, 'utf8'))
    expect(statSync(join(storage.dir, 'a.example.com.key')).mode & 0o777).toBe(0o600)
    const stored = await storage.certificate('a.example.com')
    expect(stored).toMatchObject({ names: ['a.example.com', 'b.example.com'], cert: issued.cert })
    expect((stored!.notAfterMs - stored!.notBeforeMs) / 86_400_000).toBeCloseTo(10, 0)

    // A key that is not the certificate's: no certificate (a new one is ordered).
    writeFileSync(join(storage.dir, 'a.example.com.key'), readFileSync(pki.mismatchedKey('other'), 'utf8'))
    expect(await storage.certificate('a.example.com')).toBeNull()
  })
})
