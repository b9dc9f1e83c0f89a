// docs/configuration.md: balancing through the real daemon, and the access log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import { startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { rawExchange, request, sleep } from '../helpers/client.js'

describe('balancing and access log', () => {
  const backends: Backend[] = []
  let daemon: RunningDaemon
  const held: http.ServerResponse[] = []

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend(name))
    // `slow` holds /hold requests open until released, to load least_connections.
    const hold = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse): void => {
      if (req.url === '/lc/hold') held.push(res)
      else res.end(name)
    }
    backends.push(await startBackend('l1', hold('l1')), await startBackend('l2', hold('l2')))
    daemon = await startDaemon(`
listeners: [{ name: public, address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  rr:
    servers: [{ url: ${backends[0]!.url} }, { url: ${backends[1]!.url} }, { url: ${backends[2]!.url} }]
  weighted:
    servers: [{ url: ${backends[0]!.url}, weight: 3 }, { url: ${backends[1]!.url} }, { url: ${backends[2]!.url} }]
  lc:
    balance: least_connections
    servers: [{ url: ${backends[3]!.url} }, { url: ${backends[4]!.url} }]
routes:
  - { match: { path_prefix: /rr }, upstream: rr }
  - { match: { path_prefix: /weighted }, upstream: weighted }
  - { match: { path_prefix: /lc }, upstream: lc }
`)
  })
  afterAll(async () => {
    for (const r of held) r.end()
    await daemon.stop()
    for (const b of backends) await b.close()
  })

  it('round robin takes the servers in turn', async () => {
    const names: string[] = []
    for (let i = 0; i < 6; i++) names.push((await request(daemon.url('/rr'))).body)
    expect(names).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
  })

  it('weights 3,1,1 give 3 of every 5 requests, interleaved', async () => {
    const names: string[] = []
    for (let i = 0; i < 10; i++) names.push((await request(daemon.url('/weighted'))).body)
    expect(names.filter((n) => n === 'a')).toHaveLength(6)
    expect(names.join('')).not.toMatch(/aaa/)
  })

  it('least_connections sends new requests away from the busy server', async () => {
    const pending = [0, 1].map(() => request(daemon.url('/lc/hold')).catch(() => null))
    void pending
    // hold requests reach l1 and l2 once each (ties broken round robin); hold one more on whoever
    for (let i = 0; i < 50 && held.length < 2; i++) await sleep(20)
    expect(held).toHaveLength(2)
    // release the one on l1: l1 is now idle, l2 busy -> the next requests all go to l1
    const onL1 = held.findIndex((r) => r.req.socket?.localPort === backends[3]!.port)
    held.splice(onL1, 1)[0]!.end('released')
    await sleep(50)
    const names: string[] = []
    for (let i = 0; i < 4; i++) names.push((await request(daemon.url('/lc'))).body)
    expect(names).toEqual(['l1', 'l1', 'l1', 'l1'])
  })

  it('writes one access log line per request with the agreed fields', async () => {
    const r = await request(daemon.url('/rr/log?q=1'), { headers: { 'x-request-id': 'log-test-1' } })
    expect(r.status).toBe(200)
    const line = await daemon.waitForLog((l) => l.msg === 'request' && l.request_id === 'log-test-1')
    expect(line).toMatchObject({ method: 'GET', path: '/rr/log?q=1', status: 200, upstream: 'rr', retries: 0 })
    expect(String(line.server)).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(line.duration_ms).toBeTypeOf('number')
    expect(line.bytes_in).toBeGreaterThan(20)
    expect(line.bytes_out).toBe(1) // the body: 'a'
    expect(daemon.logs.filter((l) => l.request_id === 'log-test-1')).toHaveLength(1)
  })

  it('access log lines stay valid JSON whatever the path holds', async () => {
    const raw = await rawExchange(daemon.port(), 'GET /rr/q\\"x<%00>?a="b" HTTP/1.1\r\nHost: a\r\nX-Request-Id: esc-test\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    const line = await daemon.waitForLog((l) => l.request_id === 'esc-test')
    expect(line.path).toBe('/rr/q\\"x<%00>?a="b"')
  })
})
