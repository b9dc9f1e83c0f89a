// docs/proxying.md: errors answered by switchyard itself, and retries (only when safe,
// on another server when one is left; a request body is never lost or sent twice).
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { refusedPort } from '../helpers/backends.js'
import type { RunningDaemon, LogLine } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'

const { backend, daemon, defer } = closeAfterEach()
const accessLines = (d: RunningDaemon): LogLine[] => d.logs.filter((l) => l.msg === 'request')

function expectLocalError(r: { status: number; headers: Record<string, unknown>; body: string }, status: number): void {
  expect(r.status).toBe(status)
  expect(r.headers['x-request-id']).toMatch(/\S/)
  expect(r.headers['content-type']).toMatch(/^text\/plain/)
  expect(r.body.length).toBeLessThan(40)
  expect(r.body).not.toMatch(/at .*\(|Error|node:/)
}

describe('errors answered by switchyard', () => {
  it('404 when no route matches', async () => {
    const a = await backend('a')
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${a.url} }] }
  api: { servers: [{ url: ${a.url} }] }
routes:
  - { match: { host: app.example }, upstream: app }
  - { match: { path_prefix: /api }, upstream: api }
`)
    expectLocalError(await request(d.url('/other')), 404)
    expectLocalError(await request(d.url('/apix')), 404)
    expect((await request(d.url('/api/v1'))).status).toBe(200)
    expect((await request(d.url('/x'), { headers: { host: 'APP.example:8080' } })).status).toBe(200)
    expect(a.seen.map((s) => s.url)).toEqual(['/api/v1', '/x'])
  })

  it('502 after every attempt was refused, with the retries spent', async () => {
    const d = await daemon(oneUpstream([`http://127.0.0.1:${await refusedPort()}`, `http://127.0.0.1:${await refusedPort()}`]))
    const r = await request(d.url('/x'))
    expectLocalError(r, 502)
    const line = await d.waitForLog((l) => l.msg === 'request')
    expect(line).toMatchObject({ status: 502, retries: 2, error: 'ECONNREFUSED', upstream: 'app' })
  })

  it('502 when the server sends a malformed response', async () => {
    const bad = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 2OO Fine\r\n\r\n')))
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r))
    defer({ close: () => new Promise((r) => bad.close(r)) })
    const d = await daemon(oneUpstream([`http://127.0.0.1:${(bad.address() as AddressInfo).port}`], 'retries: 0'))
    expectLocalError(await request(d.url('/x')), 502)
  })

  it('504 when no response head arrives within timeouts.response_headers', async () => {
    const slow = await backend('slow', () => { /* never answers */ })
    const d = await daemon(oneUpstream([slow.url], 'retries: 0\ntimeouts: { response_headers: 300ms }'))
    const t0 = Date.now()
    expectLocalError(await request(d.url('/x')), 504)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280)
    expect(await d.waitForLog((l) => l.msg === 'request')).toMatchObject({ status: 504, error: 'UND_ERR_HEADERS_TIMEOUT' })
  })
})

describe('retries', () => {
  it('a refused server is skipped: GET and POST both land on the other server, body intact', async () => {
    const good = await backend('good', (req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString() })
      req.on('end', () => res.end(`${req.method} ${body}`))
    })
    const d = await daemon(oneUpstream([`http://127.0.0.1:${await refusedPort()}`, good.url]))
    for (let i = 0; i < 4; i++) {
      expect((await request(d.url('/g'))).body).toBe('GET ')
      const p = await request(d.url('/p'), { method: 'POST', body: `payload-${i}` })
      expect(p.status).toBe(200)
      expect(p.body).toBe(`POST payload-${i}`)
    }
    expect(good.seen.length).toBe(8)
  })

  it('an idempotent request without a body is retried on another server after a reset', async () => {
    const resetter = await backend('resetter', (req) => req.socket.destroy())
    const good = await backend('good')
    const d = await daemon(oneUpstream([resetter.url, good.url]))
    for (let i = 0; i < 4; i++) {
      const r = await request(d.url('/x'))
      expect(r.status).toBe(200)
      expect(r.body).toBe('good')
    }
    expect(resetter.seen.length).toBe(2) // round robin sent it every other first attempt
  })

  it('a POST whose body was sent is never retried: 502, and the body reached one server once', async () => {
    const received: string[] = []
    const resetter = await backend('resetter', (req) => {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString() })
      req.on('end', () => { received.push(body); req.socket.destroy() })
    })
    const other = await backend('other')
    const d = await daemon(oneUpstream([resetter.url, other.url]))
    const r = await request(d.url('/p'), { method: 'POST', body: 'only-once' })
    expectLocalError(r, 502)
    expect(received).toEqual(['only-once'])
    expect(other.seen.length).toBe(0)
  })

  it('retries: 0 turns retries off', async () => {
    const resetter = await backend('resetter', (req) => req.socket.destroy())
    const good = await backend('good')
    const d = await daemon(oneUpstream([resetter.url, good.url], 'retries: 0'))
    const statuses = [(await request(d.url('/1'))).status, (await request(d.url('/2'))).status]
    expect(statuses.sort()).toEqual([200, 502])
  })

  it('the stale keep-alive race never reaches the client for a request that is safe to retry', async () => {
    // Each backend connection serves one request; a second request on the same socket
    // finds it closed under it, exactly like a server closing an idle keep-alive socket
    // just as the proxy writes to it. One server only: the retry goes to the same one.
    let connections = 0
    const stale = net.createServer((socket) => {
      connections++
      let served = false
      socket.on('data', () => {
        if (served) {
          socket.destroy()
          return
        }
        served = true
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((r) => stale.listen(0, '127.0.0.1', r))
    defer({ close: () => new Promise((r) => { stale.close(r) }) })
    const d = await daemon(oneUpstream([`http://127.0.0.1:${(stale.address() as AddressInfo).port}`]))
    for (let i = 0; i < 20; i++) {
      const r = await request(d.url(`/r${i}`))
      expect(r.status).toBe(200)
      expect(r.body).toBe('ok')
    }
    await d.waitForLog(() => accessLines(d).length === 20)
    // Every socket but the last was found stale exactly once, and each time the request was
    // retried instead of failing (a retry may itself meet another stale pooled socket).
    const staleHits = accessLines(d).reduce((n, l) => n + Number(l.retries), 0)
    expect(staleHits).toBe(19) // every request after the first met a stale socket
    expect(connections).toBe(20)
    expect(accessLines(d).every((l) => l.status === 200)).toBe(true)
  })
})
