// Listener limits against slow and abusive clients: head size (431), body size (413,
// also before 100-continue), connection cap, request-head and request timeouts (408),
// and slowloris not slowing normal requests.
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import http from 'node:http'
import { closeAfterEach } from '../helpers/scope.js'
import { rawExchange, request, sleep } from '../helpers/client.js'

const { backend, daemon } = closeAfterEach()

/** One listener with `extra` listener keys, in front of `url`. */
const withListener = (url: string, extra: string): string => `
listeners:
  - { address: 127.0.0.1, port: 0, ${extra} }
admin: { port: 0 }
log: { access_log: false }
upstreams: { app: { servers: [{ url: ${url} }] } }
`

/** A backend that answers with the number of body bytes it read. */
async function counter(): Promise<{ url: string; bodies: number[] }> {
  const bodies: number[] = []
  const b = await backend('counter', (req, res) => {
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => { bodies.push(n); res.end(`got ${n}`) })
    req.on('error', () => {})
  })
  return { url: b.url, bodies }
}

describe('limits', () => {
  it('431 for a head over max_header_size', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'max_header_size: 4k'))
    const small = await request(d.url('/'), { headers: { 'x-pad': 'a'.repeat(3000) } })
    expect(small.status).toBe(200)
    const raw = await rawExchange(d.port(), `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${'a'.repeat(5000)}\r\n\r\n`)
    expect(raw).toMatch(/^HTTP\/1\.1 431 /)
    expect(c.bodies).toHaveLength(1)
  })

  it('413 for a declared body over max_body_size, before anything is forwarded', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'max_body_size: 1k'))
    expect((await request(d.url('/'), { method: 'POST', body: 'x'.repeat(1024) })).body).toBe('got 1024')
    const r = await request(d.url('/'), { method: 'POST', body: 'x'.repeat(1025) })
    expect(r.status).toBe(413)
    expect(r.headers.connection).toBe('close')
    expect(r.headers['x-request-id']).toMatch(/\S/)
    expect(c.bodies).toEqual([1024])
  })

  it('413 for a chunked body that grows past max_body_size', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'max_body_size: 10k'))
    const status = await new Promise<number | string>((resolve) => {
      const req = http.request(d.url('/'), { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', (e) => resolve(e.message))
      let sent = 0
      const tick = setInterval(() => {
        if (sent > 64 * 1024 || req.destroyed) { clearInterval(tick); req.end(); return }
        req.write(Buffer.alloc(4096, 120))
        sent += 4096
      }, 5)
    })
    expect(status).toBe(413)
    const ok = await new Promise<string>((resolve) => {
      const req = http.request(d.url('/'), { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = ''
        res.on('data', (x: Buffer) => { body += x.toString() })
        res.on('end', () => resolve(body))
      })
      req.write('a'.repeat(5000))
      req.end('b'.repeat(5000))
    })
    expect(ok).toBe('got 10000')
  })

  it('Expect: 100-continue: refused before the body when too large, else continued and forwarded', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'max_body_size: 1k'))
    const big = await rawExchange(d.port(), 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n', 1500)
    expect(big).toMatch(/^HTTP\/1\.1 413 /)
    expect(big).not.toMatch(/100 Continue/)
    const small = await new Promise<string>((resolve) => {
      const socket = net.connect(d.port(), '127.0.0.1', () => socket.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'))
      let got = ''
      socket.on('data', (x: Buffer) => {
        got += x.toString()
        if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('got')) socket.write('hello')
      })
      socket.on('close', () => resolve(got))
    })
    expect(small).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/)
    expect(small).toMatch(/got 5$/)
    expect(c.bodies).toEqual([5])
  })

  it('max_connections: connections past the cap are closed, others keep working', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'max_connections: 3'))
    const idle = await Promise.all([0, 1, 2].map(() => new Promise<net.Socket>((resolve) => {
      const s = net.connect(d.port(), '127.0.0.1', () => resolve(s))
    })))
    await sleep(100)
    const fourth = await rawExchange(d.port(), 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 2000).catch((e: NodeJS.ErrnoException) => e.code)
    expect(['', 'ECONNRESET']).toContain(fourth) // closed without an answer
    idle[0]!.destroy()
    await sleep(100)
    expect((await request(d.url('/'))).status).toBe(200)
    for (const s of idle) s.destroy()
  })

  it('slowloris: 500 connections trickling a head do not slow normal requests, and are cut at timeouts.request_head', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'timeouts: { request_head: 1s }'))
    const closedAt: number[] = []
    const t0 = Date.now()
    const trickle: net.Socket[] = []
    for (let i = 0; i < 500; i++) {
      const s = net.connect(d.port(), '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: a\r\nX-Slow: '))
      s.on('error', () => {})
      s.on('close', () => closedAt.push(Date.now() - t0))
      trickle.push(s)
    }
    const drip = setInterval(() => { for (const s of trickle) if (!s.destroyed) s.write('a') }, 200)
    try {
      const latencies: number[] = []
      for (let i = 0; i < 40; i++) {
        const t = performance.now()
        expect((await request(d.url('/'))).status).toBe(200)
        latencies.push(performance.now() - t)
      }
      latencies.sort((a, b) => a - b)
      expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(50) // median, ms
      for (let i = 0; i < 60 && closedAt.length < 500; i++) await sleep(100)
      expect(closedAt).toHaveLength(500)
      expect(Math.max(...closedAt)).toBeLessThan(4000) // 1 s head timeout, checked every second
    } finally {
      clearInterval(drip)
      for (const s of trickle) s.destroy()
    }
  }, 30_000)

  it('408 when the body does not arrive within timeouts.request', async () => {
    const c = await counter()
    const d = await daemon(withListener(c.url, 'timeouts: { request_head: 1s, request: 1s }'))
    const t0 = Date.now()
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(d.port(), '127.0.0.1', () => s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf'))
      let got = ''
      s.on('data', (x: Buffer) => { got += x.toString() })
      s.on('close', () => resolve(got))
      s.on('error', () => {})
      setTimeout(() => s.destroy(), 5000)
    })
    expect(Date.now() - t0).toBeLessThan(4000)
    expect(raw === '' || /^HTTP\/1\.1 (408|502)/.test(raw)).toBe(true)
  })
})
