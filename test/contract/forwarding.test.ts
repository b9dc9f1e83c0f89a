// docs/proxying.md: what reaches the server and what comes back, through the real daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { rawExchange, request } from '../helpers/client.js'

function header(raw: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!)
  return out
}

describe('forwarding', () => {
  let echo: Backend
  let daemon: RunningDaemon

  beforeAll(async () => {
    // Answers with what it received, and a response full of hop-by-hop headers to strip.
    echo = await startBackend('echo', (req, res) => {
      res.setHeader('x-backend', 'echo')
      res.setHeader('x-internal', 'secret')
      res.setHeader('connection', 'keep-alive, x-internal')
      res.setHeader('keep-alive', 'timeout=5')
      res.setHeader('x-request-id', 'from-the-server')
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.end(JSON.stringify({ method: req.method, url: req.url, raw: req.rawHeaders }))
    })
    daemon = await startDaemon(oneUpstream([echo.url]))
  })
  afterAll(async () => {
    await daemon.stop()
    await echo.close()
  })

  it('forwards method, path and query byte for byte and keeps Host', async () => {
    const target = '/a%20b/./../c;p=1?x=1&y=%2F&z=%zz&&'
    const raw = await rawExchange(daemon.port(), `PATCH ${target} HTTP/1.1\r\nHost: Example.Test:8443\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`)
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    const seen = echo.seen.at(-1)!
    expect(seen.method).toBe('PATCH')
    expect(seen.url).toBe(target)
    expect(header(seen.rawHeaders, 'host')).toEqual(['Example.Test:8443'])
  })

  it('forwards methods a client may invent (PURGE) unchanged', async () => {
    const r = await request(daemon.url('/x'), { method: 'PURGE' })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).method).toBe('PURGE')
  })

  it('strips hop-by-hop request headers, including those named by Connection', async () => {
    const raw = await rawExchange(daemon.port(), [
      'GET /hop HTTP/1.1', 'Host: h', 'Connection: keep-alive, X-Secret, close', 'X-Secret: 1', 'Keep-Alive: timeout=9',
      'TE: trailers', 'Trailer: x', 'Proxy-Connection: keep-alive', 'Upgrade: h2c', 'Proxy-Authorization: Basic x', 'X-Kept: yes', '', '',
    ].join('\r\n'))
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    const names = echo.seen.at(-1)!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
    for (const gone of ['x-secret', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'upgrade', 'proxy-authorization']) {
      expect(names).not.toContain(gone)
    }
    expect(names).toContain('x-kept')
  })

  it('strips hop-by-hop response headers, keeps duplicates, and replaces the server X-Request-Id', async () => {
    const r = await request(daemon.url('/resp'), { headers: { 'x-request-id': 'client-id-1' } })
    expect(r.status).toBe(200)
    expect(r.headers['x-internal']).toBeUndefined()
    expect(r.headers['keep-alive']).toBeUndefined()
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(header(r.rawHeaders, 'x-request-id')).toEqual(['client-id-1'])
  })

  it('adds X-Forwarded-For/Proto/Host and keeps a sane X-Request-Id', async () => {
    const r = await request(daemon.url('/xf'), {
      headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-request-id': 'abc-123' },
    })
    const raw = JSON.parse(r.body).raw as string[]
    expect(header(raw, 'x-forwarded-for')).toEqual(['203.0.113.9, 127.0.0.1'])
    expect(header(raw, 'x-forwarded-proto')).toEqual(['http'])
    expect(header(raw, 'x-forwarded-host')).toEqual(['shop.example'])
    expect(header(raw, 'x-request-id')).toEqual(['abc-123'])
    expect(r.headers['x-request-id']).toBe('abc-123')
  })

  it('replaces an insane X-Request-Id with a new UUID, sent both ways', async () => {
    const r = await request(daemon.url('/id'), { headers: { 'x-request-id': 'has spaces and ; stuff' } })
    const upstreamId = header(JSON.parse(r.body).raw as string[], 'x-request-id')
    expect(upstreamId).toHaveLength(1)
    expect(upstreamId[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(r.headers['x-request-id']).toBe(upstreamId[0])
  })

  it('makes a request id when there is none', async () => {
    const r = await request(daemon.url('/none'))
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(header(JSON.parse(r.body).raw as string[], 'x-request-id')).toEqual([r.headers['x-request-id']])
  })

  it('refuses an absolute-form target with 400 and forwards nothing', async () => {
    const before = echo.seen.length
    const raw = await rawExchange(daemon.port(), 'GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 400/)
    expect(raw).toMatch(/x-request-id: \S+/i)
    expect(echo.seen.length).toBe(before)
  })

  it('keeps the client connection alive across requests', async () => {
    const socket = net.connect(daemon.port(), '127.0.0.1')
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      let buf = ''
      socket.on('data', (d: Buffer) => {
        buf += d.toString()
        const n = buf.split('HTTP/1.1 200').length - 1
        if (n === 2) { got.push(buf); resolve() }
      })
      socket.on('error', reject)
      socket.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n')
    })
    socket.destroy()
    expect(got[0]).toContain('"/1"')
    expect(got[0]).toContain('"/2"')
  })
})
