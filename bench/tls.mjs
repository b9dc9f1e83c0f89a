// TLS for the bench's HTTPS scenarios (scenario key `tls`): one self-signed ECDSA P-256
// certificate made with openssl in the run's directory, served by switchyard and nginx alike
// with the same protocol versions and TLS 1.2 suites (switchyard's defaults, docs/tls.md), so
// the handshake work compared is OpenSSL's in both.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'

/** The suites switchyard offers for TLS 1.2 (src/shell/process/certificates.ts), for nginx's ssl_ciphers. */
export const TLS12_CIPHERS = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'

/** { cert, key } paths under `dir`, made once. */
export function benchCertificate(dir) {
  mkdirSync(dir, { recursive: true })
  const cert = `${dir}/bench.pem`
  const key = `${dir}/bench.key`
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
  }
  return { cert, key }
}
