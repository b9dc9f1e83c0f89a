// docs/tls.md: HTTPS listeners. Certificates by SNI (exact, wildcard, the first), TLS
// versions, session resumption, reload of the certificate files (a bad pair keeps the old
// one serving), `switchyard check` on bad pairs, the expiry gauge and warning, the handshake
// counter, HTTP/2 by ALPN (curl --http2 and node:http2) through the same routes with the
// access log's http_version, http2: false, redirect_https, and two workers sharing a listener.
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
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
  readonly alpn: string | false | null
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
async function h2get(port: number, path: string, authority = 'default.test', method = 'GET', requestBody?: Buffer): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca, servername: authority })
  try {
    return await new Promise((resolve, reject) => {
      session.once('error', reject)
      const stream = session.request({ ':path': path, ':method': method, ':authority': `${authority}:${port}` }, { endStream: requestBody === undefined })
      if (requestBody !== undefined) stream.end(requestBody)
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

describe('certificate files', () => {
  it('re-reads them on SIGHUP; a mismatched pair is refused with its path and the old one keeps serving', async () => {
    const a = await backend('a')
    const one = pki.issue('reload-one', ['default.test'])
    const d = await daemon(config(tlsListener([one]), a.url))
    const port = d.port('web')
    const before = (await handshake(port)).serial
    const two = pki.issue('reload-two', ['default.test'])
    expect(await reload(d, config(tlsListener([two]), a.url))).toBe('reloaded')
    const after = (await handshake(port)).serial
    expect(after).not.toBe(before)
    // The key of another pair: refused, the path named, the running certificate stays.
    const three = pki.issue('reload-three', ['default.test'])
    expect(await reload(d, config(tlsListener([{ certFile: three.certFile, keyFile: one.keyFile }]), a.url))).toBe('refused')
    const line = d.logs.findLast((l) => l.msg === 'reload refused: the running config stays')!
    expect(line.problems).toEqual([expect.stringMatching(new RegExp(`^listeners\\.0\\.tls\\.certificates\\.0\\.key_file: the key in ${one.keyFile} does not match the certificate in ${three.certFile}`))])
    expect((await handshake(port)).serial).toBe(after)
    // A file gone: refused too.
    expect(await reload(d, config(tlsListener([{ certFile: `${pki.dir}/gone.pem`, keyFile: one.keyFile }]), a.url))).toBe('refused')
    expect((await handshake(port)).serial).toBe(after)
  })

  it('switchyard check names every bad pair by its key path and file', async () => {
    const a = await backend('a')
    const other = pki.mismatchedKey('check-other')
    const notPem = `${pki.dir}/not.pem`
    writeFileSync(notPem, 'hello\n')
    const file = writeConfig(config(tlsListener([first, { certFile: first.certFile, keyFile: other }, { certFile: `${pki.dir}/missing.pem`, keyFile: first.keyFile },
      { certFile: notPem, keyFile: first.keyFile }, { certFile: first.certFile, keyFile: notPem }, { certFile: 'relative.pem', keyFile: first.keyFile }]), a.url))
    const { code, stdout, stderr } = await runCli(['check', '--config', file])
    expect(code).toBe(1)
    const out = stdout + stderr
    expect(out).toContain(`listeners.0.tls.certificates.1.key_file: the key in ${other} does not match the certificate in ${first.certFile}`)
    expect(out).toContain(`listeners.0.tls.certificates.2.cert_file: ${pki.dir}/missing.pem does not exist`)
    expect(out).toContain(`listeners.0.tls.certificates.3.cert_file: ${notPem} holds no PEM certificate`)
    expect(out).toContain(`listeners.0.tls.certificates.4.key_file: ${notPem} holds no PEM private key`)
    expect(out).toContain('listeners.0.tls.certificates.5.cert_file: must be an absolute path')
    // The daemon refuses to start the same way.
    const started = await runCli(['--config', file])
    expect(started.code).toBe(1)
    expect(started.stdout + started.stderr).toContain('listeners.0.tls.certificates.1.key_file: the key in')
  })

  it('the expiry gauge has each certificate\'s notAfter; one that expires within 14 days logs a warning', async () => {
    const a = await backend('a')
    const soon = pki.issue('soon', ['soon.test'], 7)
    const d = await daemon(config(tlsListener([first, soon]), a.url))
    const text = await scrape(d.adminUrl())
    for (const [name, c] of [['default.test', first], ['soon.test', soon]] as const) {
      expect(seriesValue(text, 'switchyard_tls_certificate_expiry_timestamp_seconds', { listener: 'web', name })).toBe(Math.floor(Date.parse(new X509Certificate(c.cert).validTo) / 1000))
    }
    const warnings = d.logs.filter((l) => l.msg === 'TLS certificate expires in less than 14 days')
    expect(warnings).toEqual([expect.objectContaining({ listener: 'web', certificate: 'soon.test', cert_file: soon.certFile, days_left: 6 })])
  })
})

describe('HTTP/2', () => {
  it('curl --http2 and node:http2 go through the routes to the servers; the access log says 2.0', async () => {
    const a = await backend('a', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive', 'keep-alive': 'timeout=5' })
      res.end(`${req.headers.host} ${req.headers['x-forwarded-host']} ${req.url}`)
    })
    const d = await daemon(config(tlsListener([first, exact]), a.url))
    const port = d.port('web')
    const curl = await run('curl', ['-sS', '--http2', '--cacert', pki.caFile, '--resolve', `a.example.com:${port}:127.0.0.1`,
      '-o', '-', '-w', '\n%{http_version}', `https://a.example.com:${port}/x?y=1`], { timeout: 5000 })
    expect(curl.stdout).toBe(`a.example.com:${port} a.example.com:${port} /x?y=1\n2`)
    const viaNode = await h2get(port, '/node', 'default.test')
    expect(viaNode.status).toBe(200)
    expect(viaNode.body).toBe(`default.test:${port} default.test:${port} /node`)
    expect(viaNode.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    await d.waitForLog((l) => l.kind === 'access' && l.path === '/node')
    const access = d.logs.filter((l) => l.kind === 'access')
    expect(access.map((l) => [l.path, l.http_version, l.status])).toEqual([['/x?y=1', '2.0', 200], ['/node', '2.0', 200]])
    // host is h2's :authority; curl sends a User-Agent, node:http2 none.
    expect(access.map((l) => [l.host, String(l.user_agent).replace(/^curl\/[\d.]+$/, 'curl'), l.referer])).toEqual([[`a.example.com:${port}`, 'curl', ''], [`default.test:${port}`, '', '']])
    // HTTP/1.1 still offered by ALPN on the same listener.
    const h1 = await run('curl', ['-sS', '--http1.1', '--cacert', pki.caFile, '--resolve', `default.test:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_version}', `https://default.test:${port}/h1`], { timeout: 5000 })
    expect(h1.stdout).toBe('1.1')
    expect(await d.waitForLog((l) => l.kind === 'access' && l.path === '/h1')).toMatchObject({ path: '/h1', http_version: '1.1' })
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: `127.0.0.1:${a.port}`, method: 'GET', code: '200' })).toBe(3)
  })

  it('local answers (404, 502) and a request body over h2', async () => {
    const a = await backend('a', (req, res) => {
      let n = 0
      req.on('data', (c: Buffer) => { n += c.length })
      req.on('end', () => { res.writeHead(200); res.end(`got ${n}`) })
    })
    const routes = `routes:\n  - match: { path_prefix: /app }\n    upstream: app\n  - match: { path_prefix: /down }\n    upstream: down\n`
    const yaml = config(tlsListener([first]), a.url).replace('upstreams:\n', `${routes}upstreams:\n  down:\n    retries: 0\n    servers: [{ url: "http://127.0.0.1:1" }]\n`)
    const d = await daemon(yaml)
    const port = d.port('web')
    expect((await h2get(port, '/nothing')).status).toBe(404)
    expect((await h2get(port, '/down')).status).toBe(502)
    const post = await h2get(port, '/app', 'default.test', 'POST', Buffer.alloc(300_000, 1))
    expect(post).toMatchObject({ status: 200, body: 'got 300000' })
    await d.waitForLog((l) => l.kind === 'access' && l.path === '/app')
    expect(d.logs.filter((l) => l.kind === 'access').map((l) => [l.status, l.http_version])).toEqual([[404, '2.0'], [502, '2.0'], [200, '2.0']])
  })

  it('http2: false offers http/1.1 only', async () => {
    const a = await backend('a')
    const d = await daemon(config(tlsListener([first], { extra: 'http2: false' }), a.url))
    expect((await handshake(d.port('web'), { ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('http/1.1')
    const curl = await run('curl', ['-sS', '--http2', '--cacert', pki.caFile, '--resolve', `default.test:${d.port('web')}:127.0.0.1`, '-o', '-', '-w', ' %{http_version}', `https://default.test:${d.port('web')}/`], { timeout: 5000 })
    expect(curl.stdout).toBe('a 1.1')
  })
})

describe('redirect_https', () => {
  it('sends every request but an ACME challenge to https:// with the TLS port, as a 308', async () => {
    const a = await backend('a')
    const plain = '  - name: plain\n    address: 127.0.0.1\n    port: 0\n    redirect_https: true\n'
    const d = await daemon(config(plain + tlsListener([first]), a.url))
    const tlsPort = d.port('web')
    const r = await request(d.url('/a/b?c=1&d', 'plain'), { headers: { host: `Example.com:${d.port('plain')}` }, method: 'POST', body: 'x' })
    expect(r.status).toBe(308)
    expect(r.headers.location).toBe(`https://example.com:${tlsPort}/a/b?c=1&d`)
    const acme = await request(d.url('/.well-known/acme-challenge/tok', 'plain'))
    expect(acme.status).toBe(200)
    expect(acme.body).toBe('a')
    expect((await request(d.url('/', 'plain'), { headers: { host: 'evil.example/x' } })).status).toBe(400)
    await d.waitForLog((l) => l.kind === 'access' && l.status === 400)
    expect(d.logs.filter((l) => l.kind === 'access').map((l) => [l.status, l.route, l.host])).toEqual([
      [308, '', `Example.com:${d.port('plain')}`], [200, 'route-0', `127.0.0.1:${d.port('plain')}`], [400, '', 'evil.example/x'],
    ])
  })
})

describe('workers: 2', () => {
  it('both workers serve TLS and h2 and take a reloaded certificate', async () => {
    const a = await backend('a')
    const one = pki.issue('workers-one', ['default.test'])
    const d = await daemon(config(tlsListener([one]), a.url, 'workers: 2'))
    const port = d.port('web')
    expect((await h2get(port, '/')).body).toBe('a')
    const two = pki.issue('workers-two', ['default.test'])
    expect(await reload(d, config(tlsListener([two]), a.url, 'workers: 2'))).toBe('reloaded')
    const serial = new X509Certificate(two.cert).serialNumber
    // Each connection may land on either worker: every one has the new certificate.
    for (let i = 0; i < 6; i++) expect((await handshake(port)).serial).toBe(serial)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_tls_handshakes_total', { listener: 'web', protocol: 'TLSv1.3', result: 'success' })).toBe(7)
    expect(seriesValue(text, 'switchyard_tls_certificate_expiry_timestamp_seconds', { listener: 'web', name: 'default.test' })).toBe(Math.floor(Date.parse(new X509Certificate(two.cert).validTo) / 1000))
  })
})
