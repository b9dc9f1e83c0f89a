// docs/proxying.md: WebSocket proxying through the real daemon, with a real ws client
// and server: frames pass unchanged both ways, closes propagate, idle timeout, gauges.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { rawExchange, request, sleep } from '../helpers/client.js'
import { scrape, seriesValue, status } from '../helpers/metrics.js'
import { refusedPort } from '../helpers/backends.js'

const { daemon, defer } = closeAfterEach()

interface WsBackend {
  url: string
  port: number
  wss: WebSocketServer
  /** Close events the server saw: [code, reason]. */
  closes: [number, string][]
  opened: number
}

/** A ws echo server; "/greet" sends a first message, "/close-4001" closes at once with a code. */
async function wsBackend(name = 'ws'): Promise<WsBackend> {
  const server = http.createServer((req, res) => res.end(`${name} ${req.url} ${req.headers.upgrade ?? ''}`))
  const wss = new WebSocketServer({ server })
  const b: WsBackend = { url: '', port: 0, wss, closes: [], opened: 0 }
  wss.on('connection', (ws, req) => {
    b.opened++
    ws.on('message', (data: RawData, isBinary) => ws.send(data, { binary: isBinary }))
    ws.on('close', (code, reason) => b.closes.push([code, reason.toString()]))
    if (req.url === '/greet') ws.send(`hello from ${name}`)
    if (req.url === '/close-4001') ws.close(4001, 'server says bye')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  b.port = (server.address() as AddressInfo).port
  b.url = `http://127.0.0.1:${b.port}`
  defer({ close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(); server.closeAllConnections(); server.close(() => r()) }) })
  return b
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    defer({ close: async () => ws.terminate() })
  })
}

const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> =>
  new Promise((resolve) => ws.once('message', (data: RawData, binary) => resolve({ data: Buffer.from(data as Buffer), binary })))
const closed = (ws: WebSocket): Promise<[number, string]> =>
  new Promise((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])))
const wsUrl = (port: number, path = '/'): string => `ws://127.0.0.1:${port}${path}`

describe('WebSocket', () => {
  it('passes frames of 0, 125, 126, 65535 bytes and 1 MiB unchanged, both ways, text and binary', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url]))
    const ws = await connect(wsUrl(d.port()))
    for (const size of [0, 125, 126, 65535, 1024 * 1024]) {
      const payload = Buffer.alloc(size, 0).map((_, i) => (i * 31 + size) % 251)
      const echoed = nextMessage(ws)
      ws.send(payload, { binary: true })
      const got = await echoed
      expect(got.binary).toBe(true)
      expect(got.data.equals(payload)).toBe(true)
    }
    const text = nextMessage(ws)
    ws.send('héllo')
    expect((await text).data.toString()).toBe('héllo')
  })

  it('server-initiated messages reach the client; the 101 carries the request id', async () => {
    const b = await wsBackend('greeter')
    const d = await daemon(oneUpstream([b.url]))
    const ws = new WebSocket(wsUrl(d.port(), '/greet'), { headers: { 'x-request-id': 'ws-id-1' } })
    defer({ close: async () => ws.terminate() })
    const upgrade = new Promise<http.IncomingMessage>((r) => ws.once('upgrade', r))
    expect((await nextMessage(ws)).data.toString()).toBe('hello from greeter')
    expect((await upgrade).headers['x-request-id']).toBe('ws-id-1')
  })

  it('a close on either side closes the other, code and reason intact', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url]))
    const ws = await connect(wsUrl(d.port()))
    ws.close(4000, 'client says bye')
    expect(await closed(ws)).toEqual([4000, 'client says bye'])
    for (let i = 0; i < 50 && b.closes.length === 0; i++) await sleep(20)
    expect(b.closes).toEqual([[4000, 'client says bye']])

    const ws2 = new WebSocket(wsUrl(d.port(), '/close-4001'))
    defer({ close: async () => ws2.terminate() })
    expect(await closed(ws2)).toEqual([4001, 'server says bye'])
  })

  it('a client that vanishes without a close frame closes the server side', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url]))
    const ws = await connect(wsUrl(d.port()))
    ws.terminate() // TCP close, no close frame
    for (let i = 0; i < 50 && b.closes.length === 0; i++) await sleep(20)
    expect(b.closes).toEqual([[1006, '']])
  })

  it('closes both sides after timeouts.idle without a byte either way', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url], 'timeouts: { idle: 300ms }'))
    const ws = await connect(wsUrl(d.port()))
    const t0 = Date.now()
    const [code] = await closed(ws)
    expect(code).toBe(1006)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('switchyard_websocket_connections and active_requests are exact', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url]))
    const gauge = async (): Promise<[number | undefined, number | undefined]> => {
      const text = await scrape(d.adminUrl())
      return [seriesValue(text, 'switchyard_websocket_connections', { upstream: 'app' }), seriesValue(text, 'switchyard_server_active_requests', { upstream: 'app', server: `127.0.0.1:${b.port}` })]
    }
    expect(await gauge()).toEqual([0, 0])
    const sockets = [await connect(wsUrl(d.port())), await connect(wsUrl(d.port())), await connect(wsUrl(d.port()))]
    expect(await gauge()).toEqual([3, 3])
    sockets[0]!.close()
    await closed(sockets[0]!)
    await sleep(50)
    expect(await gauge()).toEqual([2, 2])
    expect((await status(d.adminUrl())).upstreams.app!.servers[0]!.active_requests).toBe(2)
    sockets[1]!.terminate()
    sockets[2]!.close()
    await closed(sockets[2]!)
    await sleep(100)
    expect(await gauge()).toEqual([0, 0])
  })

  it('least_connections counts open WebSockets as in flight', async () => {
    const [b1, b2] = [await wsBackend('one'), await wsBackend('two')]
    const d = await daemon(oneUpstream([b1.url, b2.url], 'balance: least_connections'))
    // The greeting may come in the same read as the 101: listen before 'open'.
    const first = new WebSocket(wsUrl(d.port(), '/greet'))
    defer({ close: async () => first.terminate() })
    const firstFrom = (await nextMessage(first)).data.toString()
    // The busy server (one open WebSocket) gets nothing new while the other is idle.
    const idle = firstFrom === 'hello from one' ? 'two' : 'one'
    for (let i = 0; i < 4; i++) expect((await request(d.url('/x'))).body).toMatch(new RegExp(`^${idle} /x`))
  })

  it('relays a server that refuses the handshake, and answers 502/404 itself', async () => {
    const refuse = http.createServer((_req, res) => res.writeHead(403, { 'content-type': 'text/plain' }).end('no websockets here'))
    refuse.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 18\r\n\r\nno websockets here'))
    await new Promise<void>((r) => refuse.listen(0, '127.0.0.1', r))
    defer({ close: () => new Promise((r) => refuse.close(r)) })
    const d = await daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  refuse: { servers: [{ url: "http://127.0.0.1:${(refuse.address() as AddressInfo).port}" }] }
  dead: { servers: [{ url: "http://127.0.0.1:${await refusedPort()}" }] }
routes:
  - { match: { path_prefix: /refuse }, upstream: refuse }
  - { match: { path_prefix: /dead }, upstream: dead }
`)
    const handshake = 'HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    const refused = await rawExchange(d.port(), `GET /refuse ${handshake}`)
    expect(refused).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/)
    expect(refused).toMatch(/\r\n\r\nno websockets here$/)
    expect(refused).toMatch(/x-request-id: \S+/i)
    const dead = await rawExchange(d.port(), `GET /dead ${handshake}`)
    expect(dead).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/)
    const none = await rawExchange(d.port(), `GET /nowhere ${handshake}`)
    expect(none).toMatch(/^HTTP\/1\.1 404 /)
    // Each gets its access line, the 404 answered before any upstream too.
    await d.waitForLog((l) => l.kind === 'access' && l.path === '/nowhere')
    expect(d.logs.filter((l) => l.kind === 'access').map((l) => [l.path, l.status, l.route, l.host])).toEqual([
      ['/refuse', 403, 'route-0', 'a'], ['/dead', 502, 'route-1', 'a'], ['/nowhere', 404, '', 'a'],
    ])
  })

  it('serves another Upgrade (h2c) as plain HTTP/1.1, the header dropped', async () => {
    const b = await wsBackend('plain')
    const d = await daemon(oneUpstream([b.url]))
    const raw = await rawExchange(d.port(), 'GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(raw).toMatch(/plain \/h2c $/)
  })

  it('on shutdown, open WebSockets are closed once shutdown_timeout runs out', async () => {
    const b = await wsBackend()
    const d = await daemon(oneUpstream([b.url], '', 'shutdown_timeout: 600ms'))
    const ws = await connect(wsUrl(d.port()))
    const t0 = Date.now()
    d.proc.kill('SIGTERM')
    await sleep(200)
    const echoed = nextMessage(ws) // still open inside the grace period
    ws.send('still here')
    expect((await echoed).data.toString()).toBe('still here')
    const [code] = await closed(ws)
    expect(code).toBe(1006)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550)
    expect(await d.exited).toBe(0)
  })
})
