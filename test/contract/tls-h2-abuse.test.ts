// docs/tls.md#http2: h2 abuse is bounded per connection, and the process keeps serving
// others. Each attack is made by a real client: node:http2 for rapid reset (CVE-2023-44487:
// streams opened and cancelled at once), raw frames over node:tls for what node:http2 will
// not send (more streams than the server allows, SETTINGS and PING floods whose ACKs are
// never read). After each, a fresh client gets its answer.
import http2 from 'node:http2'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { tcpConnectionsTo } from '../helpers/proc-net.js'
import { makePki, tlsListener, type Issued, type Pki } from '../helpers/pki.js'

const { backend, daemon } = closeAfterEach()

let pki: Pki
let cert: Issued
beforeAll(() => {
  pki = makePki()
  cert = pki.issue('h2', ['default.test'])
})
afterAll(async () => { await pki.close() })

/** A backend that holds every request `holdMs`, counting requests and the most in flight at once. */
async function slowBackend(holdMs: number): Promise<{ url: string; seen: () => number; maxInFlight: () => number }> {
  let seen = 0
  let inFlight = 0
  let max = 0
  const b = await backend('slow', (_req, res) => {
    seen++
    max = Math.max(max, ++inFlight)
    const t = setTimeout(() => { res.end('ok') }, holdMs)
    res.once('close', () => { clearTimeout(t); inFlight-- })
  })
  return { url: b.url, seen: () => seen, maxInFlight: () => max }
}

function config(upstream: string): string {
  return `listeners:\n${tlsListener([cert])}admin:\n  port: 0\nlog:\n  access_log: false\nupstreams:\n  app:\n    servers:\n      - url: ${upstream}\n`
}

/** A well-behaved client's answer after the attack. */
async function stillServes(port: number): Promise<number> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca, servername: 'default.test' })
  try {
    return await new Promise((resolve, reject) => {
      session.once('error', reject)
      const s = session.request({ ':path': '/' })
      s.once('response', (h) => { s.resume(); s.once('end', () => resolve(Number(h[':status']))) })
      s.once('error', reject)
    })
  } finally {
    session.close()
  }
}

/** A raw h2 connection: the preface and an empty SETTINGS sent; frames from the server parsed and counted. */
function rawSession(port: number): Promise<{ socket: tls.TLSSocket; frames: Map<string, number>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const frames = new Map<string, number>()
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, servername: 'default.test', ALPNProtocols: ['h2'] }, () => {
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))]))
      resolve({ socket, frames, closed })
    })
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.once('error', (err) => { if (!socket.readyState.startsWith('open')) reject(err) })
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const len = buf.readUIntBE(0, 3)
        const type = buf[3] as number
        // RST_STREAM and GOAWAY by error code, other frames by type.
        const key = type === 3 ? `rst_stream:${buf.readUInt32BE(9)}` : type === 7 ? `goaway:${buf.readUInt32BE(13)}` : `type:${type}`
        frames.set(key, (frames.get(key) ?? 0) + 1)
        buf = buf.subarray(9 + len)
      }
    })
  })
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** GET https://localhost/ as an HPACK block of static-table references and literals (no Huffman). */
function getHeaders(path: string): Buffer {
  const authority = Buffer.from('localhost')
  const p = Buffer.from(path)
  return Buffer.concat([Buffer.from([0x82, 0x87, 0x01, authority.length]), authority, Buffer.from([0x04, p.length]), p])
}

/** Writes `copies` of `one` (in batches, with backpressure) until done or the server closes; resolves with how many went out. */
async function flood(socket: tls.TLSSocket, one: Buffer, copies: number): Promise<number> {
  const batch = Buffer.concat(Array<Buffer>(1000).fill(one))
  let sent = 0
  socket.pause() // the server's ACKs are never read
  while (sent < copies && !socket.destroyed) {
    sent += 1000
    if (!socket.write(batch)) {
      await new Promise<void>((r) => {
        socket.once('drain', r)
        socket.once('close', r)
      })
    }
  }
  return sent
}

describe('h2 abuse', () => {
  it('more streams than max_concurrent_streams (128): the rest are refused, never sent to a server', async () => {
    const slow = await slowBackend(1000)
    const d = await daemon(config(slow.url))
    const raw = await rawSession(d.port('web'))
    const headers = getHeaders('/')
    raw.socket.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => frame(1, 0x5, 1 + 2 * i, headers))))
    await new Promise<void>((resolve) => {
      const check = (): void => { if ((raw.frames.get('rst_stream:7') ?? 0) >= 72) resolve(); else setTimeout(check, 20) }
      check()
    })
    expect(raw.frames.get('rst_stream:7')).toBe(72) // REFUSED_STREAM
    expect(slow.maxInFlight()).toBeLessThanOrEqual(128)
    raw.socket.destroy()
    expect(await stillServes(d.port('web'))).toBe(200)
  })

  it('rapid reset (CVE-2023-44487): a connection that keeps opening and cancelling streams is closed', async () => {
    const slow = await slowBackend(1000)
    const d = await daemon(config(slow.url))
    const session = http2.connect(`https://127.0.0.1:${d.port('web')}`, { ca: pki.ca, servername: 'default.test' })
    session.on('error', () => {})
    await new Promise<void>((r) => session.once('connect', () => r()))
    const ourPort = session.socket.localPort as number
    let opened = 0
    while (opened < 5000 && !session.closed && !session.destroyed) {
      for (let i = 0; i < 100 && !session.closed && !session.destroyed; i++, opened++) {
        const s = session.request({ ':path': '/' })
        s.on('error', () => {})
        s.close(http2.constants.NGHTTP2_CANCEL)
      }
      await new Promise((r) => setImmediate(r))
    }
    // The daemon cuts the connection: its socket to our port is gone (node:http2's client
    // session, busy flooding, may not notice for a long time: the daemon's side is what counts).
    await d.waitForLog((l) => l.msg === 'h2 connection closed: too many streams cancelled at once (rapid reset)')
    while (tcpConnectionsTo(d.proc.pid as number, ourPort) > 0) await new Promise((r) => setTimeout(r, 20))
    session.destroy()
    // A cancelled stream may have reached the server before its reset: at most the guard's 100.
    expect(slow.seen()).toBeLessThanOrEqual(101)
    expect(await stillServes(d.port('web'))).toBe(200)
  })

  it.each([
    ['PING', frame(6, 0, 0, Buffer.alloc(8, 7))],
    ['SETTINGS', frame(4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]))], // MAX_CONCURRENT_STREAMS=100, again and again
  ])('a %s flood whose ACKs are never read closes the connection', async (_name, one) => {
    const slow = await slowBackend(0)
    const d = await daemon(config(slow.url))
    const raw = await rawSession(d.port('web'))
    const sent = await flood(raw.socket, one, 500_000)
    await raw.closed
    expect(sent).toBeLessThan(500_000)
    expect(await stillServes(d.port('web'))).toBe(200)
  })

  it('a header list over max_header_size is refused on its stream; the connection goes on', async () => {
    const slow = await slowBackend(0)
    const d = await daemon(config(slow.url))
    const session = http2.connect(`https://127.0.0.1:${d.port('web')}`, { ca: pki.ca, servername: 'default.test' })
    session.on('error', () => {})
    const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r))
    expect(settings).toMatchObject({ maxConcurrentStreams: 128, maxHeaderListSize: 16384 })
    const big = session.request({ ':path': '/', 'x-big': 'a'.repeat(20_000) })
    big.on('error', () => {})
    big.resume()
    await new Promise<void>((r) => big.once('close', () => r()))
    expect(big.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)
    expect(slow.seen()).toBe(0)
    const ok = session.request({ ':path': '/' })
    const status = await new Promise<number>((r) => ok.once('response', (h) => r(Number(h[':status']))))
    ok.resume()
    expect(status).toBe(200)
    session.close()
  })
})
