// docs/tls.md: HTTPS listeners. Certificates by SNI (exact, wildcard, the first), TLS
// versions, session resumption, reload of the certificate files (a bad pair keeps the old
// one serving), `switchyard check` on bad pairs, the expiry gauge and warning, the handshake
// counter, HTTP/2 by ALPN (curl --http2 and node:http2) through the same routes with the
// access log's http_version, http2: false, redirect_https, and two workers sharing a listener.
import { execFile } from 'node:child_process'
import http2 from 'node:http2'
import tls from 'node:tls'
import { writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { runCli, writeConfig, type RunningDaemon } from '../helpers/daemon.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { makePki, tlsListener, type Issued, type Pki } from '../helpers/pki.js'

const run = promisify(execFile)
const { backend, daemon } = closeAfterEach()

let pki: Pki
let first: Issued // default.test: the listener's first certificate
let exact: Issued // a.example.com
let wild: Issued // *.example.com
beforeAll(() => {
  pki = makePki()
  first = pki.issue('first', ['default.test'])
  exact = pki.issue('exact', ['a.example.com'])
  wild = pki.issue('wild', ['*.example.com'])
})
afterAll(async () => { await pki.close() })

function config(listeners: string, upstream: string, top = ''): string {
  return `listeners:\n${listeners}admin:\n  port: 0\n${top}\nupstreams:\n  app:\n    servers:\n      - url: ${upstream}\n`
}

interface Handshake {
  readonly subjectaltname: string
  readonly serial: string
  readonly protocol: string | null
  readonly alpn: string | false
  readonly reused: boolean
}

/** One TLS handshake with the daemon's listener; resolves with what the client saw, rejects on a TLS error. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake & { session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, servername: 'default.test', ...options }, () => {
      const cert = socket.getPeerCertificate()
      const result = { subjectaltname: cert.subjectaltname ?? '', serial: cert.serialNumber, protocol: socket.getProtocol(), alpn: socket.alpnProtocol, reused: socket.isSessionReused() }
      // A TLS 1.3 ticket arrives after the handshake: wait for it (bounded) before closing.
      const done = (): void => { socket.end(); resolve({ ...result, session: session ?? socket.getSession() }) }
      if (result.protocol === 'TLSv1.3' && session === undefined && options.session === undefined) {
        const t = setTimeout(done, 500)
        socket.once('session', (s: Buffer) => { session = s; clearTimeout(t); done() })
      } else done()
    })
    socket.on('session', (s: Buffer) => { session = s })
    socket.setTimeout(3000, () => socket.destroy(new Error('handshake timed out')))
    socket.once('error', reject)
  })
}

/** The daemon's h2 answer through node:http2. */
async function h2get(port: number, path: string, authority = 'default.test'): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
  const session = http2.connect(`https://${authority}:${port}`, { ca: pki.ca, lookup: (_h, _o, cb) => cb(null, '127.0.0.1', 4) } as http2.SecureClientSessionOptions)
  try {
    return await new Promise((resolve, reject) => {
      session.once('error', reject)
      const stream = session.request({ ':path': path })
      let body = ''
      let headers: http2.IncomingHttpHeaders = {}
      stream.on('response', (h) => { headers = h })
      stream.setEncoding('utf8')
      stream.on('data', (d: string) => { body += d })
      stream.once('end', () => resolve({ status: Number(headers[':status']), body, headers }))
      stream.once('error', reject)
    })
  } finally {
    session.close()
  }
}

async function reload(d: RunningDaemon, yaml: string): Promise<'reloaded' | 'refused'> {
  const before = d.logs.length
  writeFileSync(d.file, yaml)
  d.proc.kill('SIGHUP')
  const line = await d.waitForLog((l) => d.logs.indexOf(l) >= before && (l.msg === 'config reloaded' || l.msg === 'reload refused: the running config stays'))
  return line.msg === 'config reloaded' ? 'reloaded' : 'refused'
}

describe('HTTPS listeners', () => {
  it('picks the certificate by SNI: exact, then wildcard, else the first; resumes sessions', async () => {
    const a = await backend('a')
    const d = await daemon(config(tlsListener([first, exact, wild]), a.url))
    const port = d.port('web')
    expect((await handshake(port, { servername: 'a.example.com' })).subjectaltname).toBe('DNS:a.example.com')
    expect((await handshake(port, { servername: 'b.example.com' })).subjectaltname).toBe('DNS:*.example.com')
    expect((await handshake(port, { servername: 'other.test', checkServerIdentity: () => undefined })).subjectaltname).toBe('DNS:default.test')
    // No SNI at all (an IP address is never sent as a name): the first certificate.
    expect((await handshake(port, { servername: '', checkServerIdentity: () => undefined })).subjectaltname).toBe('DNS:default.test')
    // Session resumption (TLS 1.3 tickets, and TLS 1.2).
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const one = await handshake(port, { servername: 'a.example.com', maxVersion })
      expect(one.session, maxVersion).toBeDefined()
      expect((await handshake(port, { servername: 'a.example.com', maxVersion, session: one.session })).reused, maxVersion).toBe(true)
    }
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'web', protocol: 'TLSv1.3', result: 'success' })).toBeGreaterThanOrEqual(4)
  })

  it('refuses TLS 1.1 (a failed handshake counted); min_version 1.3 refuses 1.2 and serves 1.3', async () => {
    const a = await backend('a')
    const d = await daemon(config(tlsListener([first]) + tlsListener([first], { name: 'strict', minVersion: '1.3' }), a.url))
    // An old client: the server answers its TLS 1.1 hello with a protocol_version alert.
    await expect(handshake(d.port('web'), { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' })
    expect((await handshake(d.port('web'), { maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2')
    await expect(handshake(d.port('strict'), { maxVersion: 'TLSv1.2' })).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' })
    expect((await handshake(d.port('strict'))).protocol).toBe('TLSv1.3')
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'web', protocol: 'TLSv1.2', result: 'success' })).toBe(1)
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'strict', protocol: 'TLSv1.3', result: 'success' })).toBe(1)
    // A refused handshake is counted with the version the client asked for.
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'web', protocol: 'TLSv1.1', result: 'failure' })).toBe(1)
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'strict', protocol: 'TLSv1.2', result: 'failure' })).toBe(1)
  })
})
