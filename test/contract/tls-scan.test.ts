// docs/tls.md#hardening, checked from outside by a TLS scanner (Debian's sslscan): no protocol
// below TLS 1.2, and only AEAD suites with forward secrecy (no RC4, 3DES, CBC, SHA-1 MACs,
// NULL, export or anonymous suites). Skipped without sslscan outside CI.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { makePki, tlsListener, type Issued, type Pki } from '../helpers/pki.js'
import { needTool } from '../helpers/tools.js'

const run = promisify(execFile)
const { backend, daemon } = closeAfterEach()

let pki: Pki
let cert: Issued
beforeAll(() => {
  pki = makePki()
  cert = pki.issue('scan', ['default.test'])
})
afterAll(async () => { await pki.close() })

describe('sslscan', () => {
  it('finds no protocol below TLS 1.2 and no weak suite', async (ctx) => {
    needTool(ctx, 'sslscan', 'sslscan')
    const a = await backend('a')
    const d = await daemon(`listeners:\n${tlsListener([cert])}admin:\n  port: 0\nupstreams:\n  app:\n    servers:\n      - url: ${a.url}\n`)
    const { stdout } = await run('sslscan', ['--no-colour', '--sni-name=default.test', `127.0.0.1:${d.port('web')}`], { timeout: 20_000 })
    const protocols = Object.fromEntries([...stdout.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)$/gm)].map((m) => [m[1], m[2]]))
    expect(protocols).toEqual({ SSLv2: 'disabled', SSLv3: 'disabled', 'TLSv1.0': 'disabled', 'TLSv1.1': 'disabled', 'TLSv1.2': 'enabled', 'TLSv1.3': 'enabled' })
    const suites = [...stdout.matchAll(/^(?:Preferred|Accepted)\s+(TLSv1\.[0-3])\s+\d+ bits\s+(\S+)/gm)].map((m) => [m[1], m[2]] as const)
    expect(suites.length).toBeGreaterThan(0)
    for (const [version, suite] of suites) {
      expect(version === 'TLSv1.2' || version === 'TLSv1.3', suite).toBe(true)
      expect(suite).not.toMatch(/RC4|3DES|DES-CBC|CBC|NULL|EXP|anon|ADH|AECDH|MD5|PSK|-SHA$/)
      // TLS 1.2: ECDHE key exchange with an AEAD cipher; TLS 1.3 suites are all AEAD.
      if (version === 'TLSv1.2') expect(suite).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/)
    }
  })
})
