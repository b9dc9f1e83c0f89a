// TLS and HTTP/2 to the servers (contract section 6, docs/upstream-tls.md), through the real
// daemon: https:// servers verified against a private CA made here with openssl, the name
// verified and sent as SNI, a verification failure as a 502 with reason `tls` (never
// silently accepted), a server that requires a client certificate (mTLS), verify: false,
// HTTP/2 to a node:http2 server (ALPN) and to an h2c one, response trailers, and health
// probes that connect as the traffic does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { makeTestCa, type TestCa } from '../helpers/test-ca.js'

interface Seen { version: string; sni: string | null; proto: string; clientCn: string | null; path: string }

type AnyServer = http.Server | https.Server | http2.Http2SecureServer | http2.Http2Server

/** Answers what it saw as JSON; /trailers answers with a chunked body and two trailers. */
function handler(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  const socket = req.socket as TLSSocket
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null
  const seen: Seen = {
    version: req.httpVersion,
    sni: typeof socket.servername === 'string' ? socket.servername : null,
    proto: String(req.headers['x-forwarded-proto']),
    clientCn: peer !== null && peer.subject !== undefined ? String(peer.subject.CN) : null,
    path: req.url ?? '',
  }
  if (req.url?.includes('trailers/x') === true) {
    const r = res as http.ServerResponse // the compat response of node:http2 has the same calls
    r.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, x-status' })
    r.write('part one, ')
    r.addTrailers({ 'x-checksum': 'abc123', 'x-status': '0' })
    r.end('part two')
    return
  }
  ;(res as http.ServerResponse).writeHead(200, { 'content-type': 'application/json' })
  ;(res as http.ServerResponse).end(JSON.stringify(seen))
}

async function listenOn(server: AnyServer): Promise<number> {
  await new Promise<void>((resolve) => (server as http.Server).listen(0, '127.0.0.1', resolve))
  return ((server as http.Server).address() as AddressInfo).port
}

interface Got { status: number; body: string; trailers: NodeJS.Dict<string> }

function get(url: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers: { te: 'trailers' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, trailers: res.trailers }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

describe('TLS and HTTP/2 to upstreams', () => {
  let pki: TestCa
  const servers: AnyServer[] = []
  let d: RunningDaemon

  beforeAll(async () => {
    pki = makeTestCa()
    const byIp = pki.issue('by-ip', ['localhost', 'IP:127.0.0.1'])
    const byName = pki.issue('app.internal', ['app.internal'])
    const client = pki.issue('switchyard-client', [], 'client')
    const tls = (c: { cert: string; key: string }): { cert: string; key: string } => ({ cert: pki.read(c.cert), key: pki.read(c.key) })

    const start = async (s: AnyServer): Promise<number> => {
      servers.push(s)
      ;(s as http.Server).on('request', handler)
      return listenOn(s)
    }
    const ipPort = await start(https.createServer(tls(byIp)))
    const namePort = await start(https.createServer(tls(byName)))
    const mtlsPort = await start(https.createServer({ ...tls(byIp), ca: pki.read(pki.ca.cert), requestCert: true, rejectUnauthorized: true }))
    const h2Port = await start(http2.createSecureServer({ ...tls(byIp), allowHTTP1: true }))
    const h2cPort = await start(http2.createServer())
    const plainPort = await start(http.createServer())

    const up = (name: string, url: string, extra: string): string => `  ${name}:\n    retries: 0\n    servers: [{url: "${url}"}]\n${extra}`
    const ca = `ca_file: ${pki.ca.cert}`
    d = await startDaemon(`
listeners: [{address: 127.0.0.1, port: 0}]
admin: {port: 0}
upstreams:
${up('trusted', `https://127.0.0.1:${ipPort}`, `    tls: {${ca}}\n`)}
${up('unknown-ca', `https://127.0.0.1:${ipPort}`, '')}
${up('named', `https://127.0.0.1:${namePort}`, `    tls: {${ca}, server_name: app.internal}\n`)}
${up('misnamed', `https://127.0.0.1:${namePort}`, `    tls: {${ca}}\n`)}
${up('unverified', `https://127.0.0.1:${namePort}`, '    tls: {verify: false}\n')}
${up('no-client-cert', `https://127.0.0.1:${mtlsPort}`, `    tls: {${ca}}\n`)}
${up('client-cert', `https://127.0.0.1:${mtlsPort}`, `    tls: {${ca}, cert_file: ${client.cert}, key_file: ${client.key}}\n`)}
${up('h2', `https://127.0.0.1:${h2Port}`, `    tls: {${ca}}\n    http2: true\n`)}
${up('h1', `https://127.0.0.1:${h2Port}`, `    tls: {${ca}}\n`)}
${up('h2c', `http://127.0.0.1:${h2cPort}`, '    http2: true\n')}
${up('plain', `http://127.0.0.1:${plainPort}`, '')}
${up('probed', `https://127.0.0.1:${ipPort}`, `    tls: {${ca}}\n    health_check: {interval: 100ms, timeout: 1s, path: /health, unhealthy_threshold: 2}\n`)}
${up('probed-unknown-ca', `https://127.0.0.1:${ipPort}`, '    health_check: {interval: 100ms, timeout: 1s, path: /health, unhealthy_threshold: 2}\n')}
routes:
${['trusted', 'unknown-ca', 'named', 'misnamed', 'unverified', 'no-client-cert', 'client-cert', 'h2', 'h1', 'h2c', 'plain'].map((n) => `  - {match: {path_prefix: /${n}}, upstream: ${n}}`).join('\n')}
  - {match: {path_prefix: /trailers}, upstream: plain}
  - {match: {path_prefix: /h2-trailers}, upstream: h2}
`)
  })
  afterAll(async () => {
    await d?.stop()
    for (const s of servers) {
      ;(s as http.Server).closeAllConnections?.()
      ;(s as http.Server).close()
    }
  })

  const seen = async (path: string): Promise<Seen> => {
    const r = await get(d.url(path))
    expect(r.status, r.body).toBe(200)
    return JSON.parse(r.body) as Seen
  }

  it('an https:// server whose certificate the ca_file vouches for: 200', async () => {
    const s = await seen('/trusted')
    expect(s.version).toBe('1.1')
    expect(s.proto).toBe('http') // the client came over plain HTTP
  })

  it.each([
    ['a CA the system does not know', '/unknown-ca', 'unknown-ca'],
    ['a certificate for another name', '/misnamed', 'misnamed'],
  ])('%s: 502 with reason tls, never accepted', async (_name, path, upstream) => {
    const id = `tls-fail-${upstream}`
    const r = await new Promise<Got>((resolve, reject) => {
      http.get(d.url(path), { agent: false, headers: { 'x-request-id': id } }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', trailers: {} }))
      }).on('error', reject)
    })
    expect(r.status).toBe(502)
    const line = await d.waitForLog((l) => l.request_id === id)
    expect(String(line.error)).toMatch(/^(ERR_SSL_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|CERT_)/)
    const text = await scrape(d.adminUrl())
    const series = text.split('\n').filter((l) => l.startsWith('switchyard_upstream_errors_total{') && l.includes(`upstream="${upstream}"`) && l.includes('reason="tls"'))
    expect(series.map((l) => Number(l.split(' ').at(-1)))).toEqual([1])
  })

  it('a server that requires a client certificate we do not have: 502, never a response', async () => {
    // TLS 1.3: the server checks our certificate after our side of the handshake is done,
    // and closes; undici sees the connection close (UND_ERR_SOCKET: reason reset), not an alert.
    const r = await get(d.url('/no-client-cert'))
    expect(r.status).toBe(502)
  })

  it('server_name: the name verified and sent as SNI', async () => {
    expect((await seen('/named')).sni).toBe('app.internal')
  })

  it('verify: false accepts a certificate that does not verify (only when asked)', async () => {
    expect((await seen('/unverified')).version).toBe('1.1')
  })

  it('mTLS: the client certificate reaches a server that requires one', async () => {
    expect((await seen('/client-cert')).clientCn).toBe('switchyard-client')
  })

  it('http2: true speaks HTTP/2 to the server (ALPN); without it, HTTP/1.1 to the same server', async () => {
    expect((await seen('/h2')).version).toBe('2.0')
    expect((await seen('/h1')).version).toBe('1.1')
  })

  it('http2: true on an http:// server: h2c with prior knowledge', async () => {
    expect((await seen('/h2c')).version).toBe('2.0')
  })

  it.each([
    ['an HTTP/1.1 server (chunked trailers)', '/trailers/x'],
    ['an HTTP/2 server (a trailing HEADERS frame)', '/h2-trailers/x'],
  ])('response trailers from %s reach the client', async (_name, path) => {
    const r = await get(d.url(path))
    expect(r.status).toBe(200)
    expect(r.body).toBe('part one, part two')
    expect(r.trailers).toMatchObject({ 'x-checksum': 'abc123', 'x-status': '0' })
  })

  it('health probes use the upstream\'s TLS settings', async () => {
    const line = await d.waitForLog((l) => l.msg === 'server state changed' && l.upstream === 'probed-unknown-ca' && l.to === 'unhealthy', 5000)
    expect(String(line.reason)).toMatch(/TLS handshake failed/)
    // By now the other upstream's probes of the same server have run too: every one passed.
    let successes = 0
    for (let i = 0; i < 50 && successes === 0; i++) {
      successes = seriesValue(await scrape(d.adminUrl()), 'switchyard_health_checks_total', { upstream: 'probed', result: 'success' }) ?? 0
      if (successes === 0) await new Promise((r) => setTimeout(r, 50))
    }
    expect(successes).toBeGreaterThan(0)
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_health_checks_total', { upstream: 'probed', result: 'failure' }) ?? 0).toBe(0)
  })
})
