// The client's address (contract section 6, docs/client-address.md), through the real
// daemon: what the app sees in X-Forwarded-For, X-Real-IP and X-Forwarded-Proto on a plain
// listener, behind trusted proxies, and behind a PROXY protocol sender (v1 and v2 written
// on raw sockets); ip_hash and the access log use the same address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import net from 'node:net'
import { startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { rawExchange, request } from '../helpers/client.js'

const V2_SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]
/** A v2 PROXY TCP4 header from `src` (a.b.c.d) port 4242, with an ALPN TLV to skip. */
function v2Header(src: string, command = 1): Buffer {
  const addresses = [...src.split('.').map(Number), 127, 0, 0, 1, 0x10, 0x92, 0x1f, 0x90]
  const tlv = [0x01, 0x00, 0x08, ...Buffer.from('http/1.1')]
  const body = [...addresses, ...tlv]
  return Buffer.from([...V2_SIG, 0x20 | command, 0x11, body.length >> 8, body.length & 0xff, ...body])
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n${extra}Connection: close\r\n\r\n`

interface Seen { backend: string; xff: string; realIp: string; proto: string; realIps: number }

/** The echo backend's answer at the end of a raw exchange. */
function seenIn(raw: string): Seen {
  expect(raw).toMatch(/^HTTP\/1\.1 200 /)
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Seen
}

describe('the client address', () => {
  const backends: Backend[] = []
  let d: RunningDaemon

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c']) {
      backends.push(await startBackend(name, (req, res, b) => {
        const all = (n: string): string[] => {
          const out: string[] = []
          for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === n) out.push(req.rawHeaders[i + 1]!)
          return out
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ backend: b.name, xff: all('x-forwarded-for').join(' | '), realIp: all('x-real-ip').join(' | '), proto: all('x-forwarded-proto').join(' | '), realIps: all('x-real-ip').length }))
      }))
    }
    d = await startDaemon(`
listeners:
  - {name: plain, address: 127.0.0.1, port: 0}
  - {name: behind-lb, address: 127.0.0.1, port: 0, trusted_proxies: [127.0.0.0/8, "::1"]}
  - {name: others-trusted, address: 127.0.0.1, port: 0, trusted_proxies: [10.0.0.0/8]}
  - {name: proxied, address: 127.0.0.1, port: 0, proxy_protocol: true, timeouts: {request_head: 500ms}}
  - {name: proxied-lb, address: 127.0.0.1, port: 0, proxy_protocol: true, trusted_proxies: [192.0.2.0/24]}
admin: {port: 0}
upstreams:
  app:
    balance: ip_hash
    servers:
${backends.map((b) => `      - url: ${b.url}`).join('\n')}
`)
  })
  afterAll(async () => {
    await d.stop()
    await Promise.all(backends.map((b) => b.close()))
  })

  describe('a plain listener: the peer', () => {
    it('a client-sent X-Real-IP never reaches the app: it gets the real peer', async () => {
      const seen = seenIn(await rawExchange(d.port('plain'), get('/', 'X-Real-IP: 203.0.113.9\r\nx-real-ip: 203.0.113.10\r\n')))
      expect(seen.realIp).toBe('127.0.0.1')
      expect(seen.realIps).toBe(1)
    })

    it('X-Forwarded-For gets the peer appended; X-Forwarded-Proto is http whatever the client sent', async () => {
      const seen = seenIn(await rawExchange(d.port('plain'), get('/', 'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n')))
      expect(seen.xff).toBe('203.0.113.7, 127.0.0.1')
      expect(seen.realIp).toBe('127.0.0.1')
      expect(seen.proto).toBe('http')
    })

    it.each([
      ['v1', Buffer.from('PROXY TCP4 192.0.2.7 127.0.0.1 4242 80\r\n')],
      ['v2', v2Header('192.0.2.7')],
    ])('a PROXY %s header on a listener that did not ask for one is bad HTTP: 400', async (_v, header) => {
      const raw = await rawExchange(d.port('plain'), Buffer.concat([header, Buffer.from(get('/never'))]))
      expect(raw).toMatch(/^HTTP\/1\.1 400 /)
      expect(backends.some((b) => b.seen.some((s) => s.url === '/never'))).toBe(false)
    })
  })

  describe('trusted_proxies: the right-most untrusted X-Forwarded-For entry', () => {
    it('a trusted peer: its chain is walked past trusted hops; its X-Forwarded-Proto is kept', async () => {
      const seen = seenIn(await rawExchange(d.port('behind-lb'), get('/', 'X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-For: 127.0.0.5\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 198.51.100.1\r\n')))
      expect(seen.realIp).toBe('203.0.113.7')
      // nginx's $proxy_add_x_forwarded_for: the chain, plus the client address.
      expect(seen.xff).toBe('198.51.100.1, 203.0.113.7, 127.0.0.5, 203.0.113.7')
      expect(seen.proto).toBe('https')
    })

    it('a client-written left-most entry is not believed (spoof)', async () => {
      const seen = seenIn(await rawExchange(d.port('behind-lb'), get('/', 'X-Forwarded-For: 1.1.1.1, 203.0.113.7\r\n')))
      expect(seen.realIp).toBe('203.0.113.7')
    })

    it('a garbled entry stops the walk: the peer stays the client', async () => {
      const seen = seenIn(await rawExchange(d.port('behind-lb'), get('/', 'X-Forwarded-For: 203.0.113.7, not-an-ip\r\n')))
      expect(seen.realIp).toBe('127.0.0.1')
    })

    it('an untrusted peer: its X-Forwarded-For and X-Forwarded-Proto are not believed', async () => {
      const seen = seenIn(await rawExchange(d.port('others-trusted'), get('/', 'X-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Proto: https\r\n')))
      expect(seen.realIp).toBe('127.0.0.1')
      expect(seen.xff).toBe('10.1.1.1, 127.0.0.1')
      expect(seen.proto).toBe('http')
    })

    it('the access log has the client address', async () => {
      await rawExchange(d.port('behind-lb'), get('/', 'X-Request-Id: client-log-1\r\nX-Forwarded-For: 203.0.113.99\r\n'))
      const line = await d.waitForLog((l) => l.request_id === 'client-log-1')
      expect(line.client).toBe('203.0.113.99')
      await rawExchange(d.port('plain'), get('/', 'X-Request-Id: client-log-2\r\nX-Forwarded-For: 203.0.113.99\r\n'))
      expect((await d.waitForLog((l) => l.request_id === 'client-log-2')).client).toBe('127.0.0.1')
    })
  })

  describe('proxy_protocol: the header\'s source', () => {
    it('v1: the source is the client', async () => {
      const seen = seenIn(await rawExchange(d.port('proxied'), `PROXY TCP4 192.0.2.7 127.0.0.1 4242 80\r\n${get('/', 'X-Real-IP: 6.6.6.6\r\n')}`))
      expect(seen.realIp).toBe('192.0.2.7')
      expect(seen.xff).toBe('192.0.2.7')
    })

    it('v1 TCP6', async () => {
      const seen = seenIn(await rawExchange(d.port('proxied'), `PROXY TCP6 2001:db8::7 ::1 4242 80\r\n${get('/')}`))
      expect(seen.realIp).toBe('2001:db8::7')
    })

    it('v2 with TLVs: the source is the client', async () => {
      const seen = seenIn(await rawExchange(d.port('proxied'), Buffer.concat([v2Header('198.51.100.20'), Buffer.from(get('/'))])))
      expect(seen.realIp).toBe('198.51.100.20')
    })

    it('v2 LOCAL (the proxy\'s own health check): the real peer', async () => {
      const seen = seenIn(await rawExchange(d.port('proxied'), Buffer.concat([v2Header('198.51.100.20', 0), Buffer.from(get('/'))])))
      expect(seen.realIp).toBe('127.0.0.1')
    })

    it('the header and the requests after it arrive in pieces; keep-alive requests keep the source', async () => {
      const socket = net.connect(d.port('proxied'), '127.0.0.1')
      const got: Buffer[] = []
      socket.on('data', (c: Buffer) => got.push(c))
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      const header = v2Header('192.0.2.55')
      socket.write(header.subarray(0, 5))
      await new Promise((r) => setImmediate(r))
      socket.write(Buffer.concat([header.subarray(5), Buffer.from('POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe')]))
      await new Promise((r) => setImmediate(r))
      socket.write(`llo${get('/two')}`)
      await closed
      const text = Buffer.concat(got).toString()
      const bodies = text.split(/HTTP\/1\.1 200 /).slice(1)
      expect(bodies).toHaveLength(2)
      for (const b of bodies) expect(b).toContain('"realIp":"192.0.2.55"')
    })

    it.each([
      ['an HTTP request without a header', Buffer.from(get('/'))],
      ['a wrong v2 signature', Buffer.from([...V2_SIG.slice(0, 11), 0x0b, 0x21, 0x11, 0, 0])],
      ['a v1 header over 107 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}\r\n`)],
      ['an oversized v2 header', Buffer.from([...V2_SIG, 0x21, 0x11, 0xff, 0xff])],
      ['a v1 header with a bad address', Buffer.from(`PROXY TCP4 192.0.2.300 127.0.0.1 1 2\r\n${get('/')}`)],
    ])('%s: the connection is closed without an answer', async (_name, bytes) => {
      expect(await rawExchange(d.port('proxied'), bytes)).toBe('')
    })

    it('a connection that sends nothing is closed after request_head', async () => {
      const started = performance.now()
      expect(await rawExchange(d.port('proxied'), Buffer.alloc(0), 5000)).toBe('')
      expect(performance.now() - started).toBeLessThan(4000)
    })

    it('behind a PROXY sender that is itself a trusted proxy: X-Forwarded-For is walked from its source', async () => {
      const seen = seenIn(await rawExchange(d.port('proxied-lb'), `PROXY TCP4 192.0.2.1 127.0.0.1 4242 80\r\n${get('/', 'X-Forwarded-For: 203.0.113.70\r\n')}`))
      expect(seen.realIp).toBe('203.0.113.70')
    })

    it('ip_hash keys on the PROXY source: one source, one server; sources spread', async () => {
      const byServer = new Map<string, Set<string>>()
      for (let i = 1; i <= 12; i++) {
        const src = `198.51.100.${i}`
        const first = seenIn(await rawExchange(d.port('proxied'), `PROXY TCP4 ${src} 127.0.0.1 1 2\r\n${get('/')}`)).backend
        for (let k = 0; k < 2; k++) {
          expect(seenIn(await rawExchange(d.port('proxied'), `PROXY TCP4 ${src} 127.0.0.1 1 2\r\n${get('/')}`)).backend).toBe(first)
        }
        byServer.set(first, (byServer.get(first) ?? new Set()).add(src))
      }
      expect(byServer.size).toBeGreaterThan(1)
    })
  })

  it('X-Forwarded-Proto from node:http through a plain listener', async () => {
    const r = await request(d.url('/', 'plain'))
    expect((JSON.parse(r.body) as Seen).proto).toBe('http')
  })
})
