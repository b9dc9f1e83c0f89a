// docs/affinity.md through the real daemon: a Socket.IO (Engine.IO v4 long-polling) app on
// two servers breaks without affinity and works with `sticky` or `ip_hash`, the WebSocket
// upgrade included; the sticky cookie's rules (re-issued when its server is gone, a
// garbled value ignored, the server's own cookies kept); hash keys; a hash target that is
// down falls to another server, never to a 503.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'
import { startEngineIoBackend, type EngineIoBackend } from '../helpers/engineio-backend.js'
import { socketIoSession, type SessionResult } from '../helpers/engineio-client.js'

const { backend, daemon, defer } = closeAfterEach()

async function twoSocketIoServers(): Promise<[EngineIoBackend, EngineIoBackend]> {
  const a = await startEngineIoBackend('a')
  defer(a)
  const b = await startEngineIoBackend('b')
  defer(b)
  return [a, b]
}

/** 20 sessions one after the other; `i` picks the session's client address 127.0.0.(10+i). */
async function sessions(base: string, opts: { cookies?: boolean; distinctAddresses?: boolean }): Promise<SessionResult[]> {
  const out: SessionResult[] = []
  for (let i = 0; i < 20; i++) {
    out.push(await socketIoSession(base, { cookies: opts.cookies, localAddress: opts.distinctAddresses === true ? `127.0.0.${10 + i}` : undefined }))
  }
  return out
}

const STICKY_COOKIE = /^sy_server=[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/

describe('Socket.IO long polling on two servers', () => {
  it('without affinity (round_robin) the sessions break: the request after the handshake reaches the other server', async () => {
    const [a, b] = await twoSocketIoServers()
    const d = await daemon(oneUpstream([a.url, b.url]))
    const results = await sessions(d.url(''), { cookies: true })
    expect(results.filter((r) => r.failedAt === '')).toHaveLength(0)
    expect(results.every((r) => r.failedAt === 'connect namespace' && r.why.includes('Session ID unknown'))).toBe(true)
    expect(a.counts.unknown + b.counts.unknown).toBe(20)
  })

  it('with sticky: 20 of 20 sessions work (upgrade included), over two workers, one Set-Cookie per session', async () => {
    const [a, b] = await twoSocketIoServers()
    const d = await daemon(oneUpstream([a.url, b.url], 'sticky: { cookie: sy_server }', 'workers: 2'))
    const results = await sessions(d.url(''), { cookies: true })
    expect(results.map((r) => r.failedAt === '' ? 'ok' : `${r.failedAt}: ${r.why}`)).toEqual(Array(20).fill('ok'))
    for (const r of results) {
      expect(r.setCookies).toHaveLength(1) // on the handshake; later requests presented the right value
      expect(r.setCookies[0]).toMatch(STICKY_COOKIE)
      expect(new Set(r.backends).size).toBe(1)
    }
    // Pinning does not stop balancing: new sessions went to both servers.
    expect(a.counts.handshakes).toBeGreaterThan(0)
    expect(b.counts.handshakes).toBeGreaterThan(0)
    expect(a.counts.unknown + b.counts.unknown).toBe(0)
  })

  it('with ip_hash: 20 of 20 sessions work (upgrade included), 20 client addresses spread over both servers, no cookie', async () => {
    const [a, b] = await twoSocketIoServers()
    const d = await daemon(oneUpstream([a.url, b.url], 'balance: ip_hash', 'workers: 2'))
    const results = await sessions(d.url(''), { distinctAddresses: true })
    expect(results.map((r) => r.failedAt === '' ? 'ok' : `${r.failedAt}: ${r.why}`)).toEqual(Array(20).fill('ok'))
    expect(results.every((r) => r.setCookies.length === 0)).toBe(true)
    expect(a.counts.handshakes).toBeGreaterThan(0)
    expect(b.counts.handshakes).toBeGreaterThan(0)
    expect(a.counts.handshakes + b.counts.handshakes).toBe(20)
  })
})

/** A backend answering its name, with its own cookie. */
const withOwnCookie = (name: string) => (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.writeHead(200, [['x-backend', name], ['set-cookie', 'app=1; Path=/'], ['set-cookie', 'theme=dark']].flat())
  res.end(name)
}

function setCookies(r: { rawHeaders: string[] }): string[] {
  const out: string[] = []
  for (let i = 0; i < r.rawHeaders.length; i += 2) if (r.rawHeaders[i]?.toLowerCase() === 'set-cookie') out.push(r.rawHeaders[i + 1] as string)
  return out
}

describe('sticky cookie', () => {
  it('pins, keeps the server\'s own Set-Cookie, re-pins when its server is down, ignores a garbled value', async () => {
    const a = await backend('a', withOwnCookie('a'))
    const b = await backend('b', withOwnCookie('b'))
    const d = await daemon(oneUpstream([a.url, b.url], 'sticky: { cookie: route, max_age: 1h }\npassive_health: { consecutive_failures: 1, eject_duration: 1m }'))
    const first = await request(d.url('/'))
    const cookies = setCookies(first)
    // The server's own two cookies first, unchanged, then ours.
    expect(cookies.slice(0, 2)).toEqual(['app=1; Path=/', 'theme=dark'])
    expect(cookies[2]).toMatch(/^route=[0-9a-f]{16}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/)
    expect(cookies).toHaveLength(3)
    const pin = (cookies[2] as string).split(';')[0] as string
    const pinned = first.body
    // Presented: always the same server, no new cookie (other cookies around it are fine).
    for (let i = 0; i < 6; i++) {
      const r = await request(d.url('/'), { headers: { cookie: `x=1; ${pin}; y=2` } })
      expect(r.body).toBe(pinned)
      expect(setCookies(r).filter((c) => c.startsWith('route='))).toEqual([])
    }
    // A garbled or unknown value: balanced as usual, and a good cookie is issued.
    for (const bad of ['route=zzz', 'route=', `route=${'0'.repeat(16)}`, `${pin}0`]) {
      const r = await request(d.url('/'), { headers: { cookie: bad } })
      expect(r.status).toBe(200)
      expect(setCookies(r).filter((c) => c.startsWith('route='))).toHaveLength(1)
    }
    // The pinned server goes down: the request goes to the other one, and the cookie is re-issued for it.
    await (pinned === 'a' ? a : b).close()
    const moved = await request(d.url('/'), { headers: { cookie: pin } })
    expect(moved.status).toBe(200)
    expect(moved.body).not.toBe(pinned)
    const repin = setCookies(moved).find((c) => c.startsWith('route='))
    expect(repin).toMatch(/^route=[0-9a-f]{16}; /)
    expect(repin?.split(';')[0]).not.toBe(pin)
    // The new cookie sticks to the new server without a further Set-Cookie.
    const again = await request(d.url('/'), { headers: { cookie: repin?.split(';')[0] as string } })
    expect(again.body).toBe(moved.body)
    expect(setCookies(again).filter((c) => c.startsWith('route='))).toEqual([])
  })

  it('the cookie value names the same server in every worker and after a restart', async () => {
    const a = await backend('a')
    const b = await backend('b')
    const yaml = oneUpstream([a.url, b.url], 'sticky: {}', 'workers: 2')
    const d1 = await daemon(yaml)
    const byServer = new Map<string, string>()
    for (let i = 0; i < 4; i++) {
      const r = await request(d1.url('/'))
      byServer.set(r.body, (setCookies(r)[0] as string).split(';')[0] as string)
    }
    expect(byServer.size).toBe(2)
    await d1.stop()
    const d2 = await daemon(yaml)
    for (const [name, pin] of byServer) {
      for (let i = 0; i < 4; i++) expect((await request(d2.url('/'), { headers: { cookie: pin } })).body).toBe(name) // over both workers
    }
    for (const pin of byServer.values()) expect(pin).not.toContain('127.0.0.1')
  })
})

/** A WebSocket server that greets with its name. */
async function wsBackend(name: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer()
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.send(name))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const b = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate()
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
  defer(b)
  return b
}

/** Opens a WebSocket through the daemon: the greeting (server name) and the 101's Set-Cookie headers. */
function wsOpen(url: string, cookie?: string): Promise<{ name: string; setCookies: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: cookie === undefined ? {} : { cookie }, handshakeTimeout: 3000 })
    let setCookies: string[] = []
    ws.on('upgrade', (res) => (setCookies = res.headers['set-cookie'] ?? []))
    ws.on('message', (data) => {
      ws.close()
      resolve({ name: data.toString(), setCookies })
    })
    ws.on('error', reject)
  })
}

describe('sticky cookie on WebSocket', () => {
  it('a 101 to a new client carries the cookie; a pinned client is sent to its server without one', async () => {
    const [a, b] = [await wsBackend('a'), await wsBackend('b')]
    const d = await daemon(oneUpstream([a.url, b.url], 'sticky: {}'))
    const url = d.url('/').replace('http:', 'ws:')
    const first = await wsOpen(url)
    expect(first.setCookies).toHaveLength(1)
    expect(first.setCookies[0]).toMatch(STICKY_COOKIE)
    const pin = (first.setCookies[0] as string).split(';')[0] as string
    for (let i = 0; i < 4; i++) expect(await wsOpen(url, pin)).toEqual({ name: first.name, setCookies: [] })
  })
})

describe('hash balancers', () => {
  it('hash_key header:NAME: one value, one server; absent header: round robin', async () => {
    const [a, b, c] = [await backend('a'), await backend('b'), await backend('c')]
    const d = await daemon(oneUpstream([a.url, b.url, c.url], 'balance: hash\nhash_key: "header:X-User-Id"'))
    const seen = new Set<string>()
    for (let user = 0; user < 12; user++) {
      const got = new Set<string>()
      for (let i = 0; i < 3; i++) got.add((await request(d.url('/'), { headers: { 'x-user-id': `user-${user}` } })).body)
      expect(got.size).toBe(1)
      seen.add([...got][0] as string)
    }
    expect(seen.size).toBeGreaterThan(1) // 12 users are spread, not all on one server
    const names = []
    for (let i = 0; i < 3; i++) names.push((await request(d.url('/'))).body)
    expect(names.sort()).toEqual(['a', 'b', 'c'])
  })

  it('hash_key path: the path without the query string is the key', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(oneUpstream([a.url, b.url], 'balance: hash\nhash_key: path'))
    for (let p = 0; p < 6; p++) {
      const got = new Set<string>()
      for (let i = 0; i < 3; i++) got.add((await request(d.url(`/item/${p}?t=${i}`))).body)
      expect(got.size).toBe(1)
    }
  })

  it('ip_hash: the server of a client address that is down is replaced by the next one, never a 503', async () => {
    const [a, b, c] = [await backend('a'), await backend('b'), await backend('c')]
    const d = await daemon(oneUpstream([a.url, b.url, c.url], 'balance: ip_hash\npassive_health: { consecutive_failures: 1, eject_duration: 1m }'))
    const own = (await request(d.url('/'))).body
    const down = [a, b, c].find((x) => x.name === own)!
    await down.close()
    const after = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const r = await request(d.url('/'))
      expect(r.status).toBe(200)
      after.add(r.body)
    }
    expect(after.size).toBe(1) // the next server on the ring, the same every time
    expect(after.has(own)).toBe(false)
  })
})
