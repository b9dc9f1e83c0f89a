// A private CA and certificates made by the test with the openssl command, in a temp dir
// (never committed): ECDSA P-256 keys (fast to make), the CA's certificate for clients to
// trust. `issue()` signs a leaf for some DNS names, valid for `days` (a short life tests the
// expiry warning); `mismatchedKey()` makes a key that belongs to no certificate.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Issued {
  readonly certFile: string
  readonly keyFile: string
  /** PEM of the leaf. */
  readonly cert: string
}

export interface Pki {
  readonly dir: string
  readonly caFile: string
  readonly ca: string
  issue(file: string, names: readonly string[], days?: number): Issued
  mismatchedKey(file: string): string
  close(): Promise<void>
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pki-'))
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', '/CN=switchyard test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  const caFile = join(dir, 'ca.pem')
  let serial = 1
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, 'utf8'),
    issue(file, names, days = 30) {
      const ext = join(dir, `${file}.ext`)
      writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
      openssl(['req', ...EC, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${names[0] ?? file}`], dir)
      openssl(['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial++),
        '-out', `${file}.pem`, '-days', String(days), '-extfile', ext], dir)
      const certFile = join(dir, `${file}.pem`)
      return { certFile, keyFile: join(dir, `${file}.key`), cert: readFileSync(certFile, 'utf8') }
    },
    mismatchedKey(file) {
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${file}.key`], dir)
      return join(dir, `${file}.key`)
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** YAML of a TLS listener (default name `web`) on port 0; `extra` lines go at the listener's indent. */
export function tlsListener(certs: readonly { certFile: string; keyFile: string }[], opts: { name?: string; minVersion?: string; extra?: string } = {}): string {
  return `  - name: ${opts.name ?? 'web'}
    address: 127.0.0.1
    port: 0
    tls:
${opts.minVersion === undefined ? '' : `      min_version: "${opts.minVersion}"\n`}      certificates:
${certs.map((c) => `        - { cert_file: ${c.certFile}, key_file: ${c.keyFile} }`).join('\n')}
${(opts.extra ?? '').split('\n').filter((l) => l.trim() !== '').map((l) => `    ${l}`).join('\n')}
`
}
