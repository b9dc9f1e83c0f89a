// A private CA made by a test with the openssl command, in a temp dir (keys are never
// committed): a CA, certificates it signs for a server (with its DNS and IP names) and for a
// client (mTLS), and a second CA nobody trusts. Each certificate is a PEM file next to its
// key; `read` returns their text for node:tls servers.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Issued {
  readonly cert: string // PEM file path
  readonly key: string
}

export interface TestCa {
  readonly dir: string
  readonly ca: Issued
  /** A certificate signed by this CA for the given names (DNS names, or IP:1.2.3.4). */
  issue(name: string, sans: readonly string[], usage?: 'server' | 'client'): Issued
  read(file: string): string
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
}

export function makeTestCa(label = 'switchyard test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-ca-'))
  const ca = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') }
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert,
    '-days', '2', '-subj', `/CN=${label}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  return {
    dir,
    ca,
    issue(name, sans, usage = 'server') {
      const base = join(dir, name.replace(/[^A-Za-z0-9.-]/g, '_'))
      const out = { cert: `${base}.pem`, key: `${base}.key` }
      const ext = `${base}.ext`
      const san = sans.map((s) => (s.startsWith('IP:') ? s : `DNS:${s}`)).join(',')
      writeFileSync(ext, [
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(san === '' ? [] : [`subjectAltName=${san}`]),
      ].join('\n'))
      openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', out.key, '-out', `${base}.csr`, '-subj', `/CN=${name}`])
      openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', out.cert])
      return out
    },
    read: (file) => readFileSync(file, 'utf8'),
  }
}
