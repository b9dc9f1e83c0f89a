// docs/discovery.md through the real daemon and a real DNS server (test/helpers/dns-server.ts,
// UDP and TCP on a high port) whose zone each test edits: `dns:` servers (A records, and
// AAAA for IPv6) join and leave as the answer changes (a leaver drains: its in-flight request completes), a
// joiner is health-checked, a reload keeps the set; `srv:` servers take the records' ports
// and weights (lowest priority only); a TTL shorter than resolve_interval re-resolves
// sooner, never more often than every 1s; an empty answer and a stopped DNS server keep
// the last good set (counted `empty`, `failed`); 1,000 records are cut to 256; a name that
// does not exist at start gives 503 until it does; with workers, one lookup loop feeds them
// all. Servers sharing one port on several loopback addresses (127.0.0.2, .3, .4) stand for
// the pods behind a headless Service.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue, status } from '../helpers/metrics.js'
import { startDnsServer, TYPE, type DnsServer } from '../helpers/dns-server.js'
import type { RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon, defer } = closeAfterEach()

interface Pods { port: number; held: (() => void)[]; health: Map<string, number>; onHold: () => void }

/** One HTTP server per loopback address, all on the same port; each answers its address. /hold waits for release. */
async function pods(ips: string[]): Promise<Pods> {
  const state: Pods = { port: 0, held: [], health: new Map(), onHold: () => {} }
  for (let attempt = 0; attempt < 20; attempt++) {
    const servers: http.Server[] = []
    try {
      for (const ip of ips) {
        const s = http.createServer((req, res) => {
          if (req.url === '/health') res.writeHead(state.health.get(ip) ?? 200).end()
          else if (req.url === '/hold') {
            state.held.push(() => res.end(ip))
            state.onHold()
          }
          else res.end(ip)
        })
        servers.push(s)
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject)
          s.listen(state.port, ip, () => resolve())
        })
        state.port = (s.address() as AddressInfo).port
      }
      for (const s of servers) defer({ close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()) }) })
      return state
    } catch {
      for (const s of servers) s.close()
      state.port = 0
    }
  }
  throw new Error('no port free on every loopback address')
}

async function dnsServer(): Promise<DnsServer> {
  const d = await startDnsServer()
  defer(d)
  return d
}

const a = (...addresses: string[]): { a: { address: string; ttl: number }[] } => ({ a: addresses.map((address) => ({ address, ttl: 1 })) })

function dnsConfig(servers: string, dns: DnsServer, extra = '', top = ''): string {
  return `
listeners: [{ name: public, address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
${top}
upstreams:
  app:
    servers:
${servers}
    resolver: "${dns.address}"
${extra.split('\n').map((l) => `    ${l}`).join('\n')}
`
}

async function bodies(d: RunningDaemon, n: number, path = '/'): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await request(d.url(path))
    expect(r.status).toBe(200)
    out.push(r.body)
  }
  return out
}

const distinct = (xs: string[]): string[] => [...new Set(xs)].sort()
const changed = (d: RunningDaemon, since: number, joined: string) => d.waitForLog((l) => d.logs.indexOf(l) >= since && l.msg === 'dns servers changed' && (l.joined as string[]).includes(joined))

async function lookups(d: RunningDaemon, result: string): Promise<number> {
  return seriesValue(await scrape(d.adminUrl()), 'switchyard_dns_lookups_total', { upstream: 'app', result }) ?? -1
}

describe('dns: servers (A records)', () => {
  it('join and leave with the answer: joiners are probed, a leaver drains (its in-flight requests finish), a reload keeps the set', async () => {
    const p = await pods(['127.0.0.2', '127.0.0.3', '127.0.0.4'])
    p.health.set('127.0.0.4', 500)
    const dns = await dnsServer()
    dns.zone.set('app.test', a('127.0.0.2'))
    const yaml = dnsConfig(`      - dns: "app.test:${p.port}"`, dns, 'resolve_interval: 1s\nhealth_check: { interval: 200ms, timeout: 200ms, unhealthy_threshold: 1, healthy_threshold: 1 }')
    const d = await daemon(yaml)
    expect(distinct(await bodies(d, 3))).toEqual(['127.0.0.2']) // ready waited for the first answer
    expect(await lookups(d, 'ok')).toBeGreaterThanOrEqual(1)

    let mark = d.logs.length
    dns.zone.set('app.test', a('127.0.0.4', '127.0.0.3', '127.0.0.2'))
    await changed(d, mark, `127.0.0.3:${p.port}`)
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === `127.0.0.4:${p.port}` && l.to === 'unhealthy')
    expect(distinct(await bodies(d, 6))).toEqual(['127.0.0.2', '127.0.0.3']) // .4 joined but fails its probes

    // One request held on each of .2 and .3; then .2 leaves the answer.
    const bothHeld = new Promise<void>((resolve) => { p.onHold = () => { if (p.held.length === 2) resolve() } })
    const held = [request(d.url('/hold')), request(d.url('/hold'))]
    await bothHeld
    mark = d.logs.length
    dns.zone.set('app.test', a('127.0.0.3', '127.0.0.4'))
    await d.waitForLog((l) => d.logs.indexOf(l) >= mark && l.msg === 'server left the DNS answer: draining' && l.server === `127.0.0.2:${p.port}`)
    const servers = (await status(d.adminUrl())).upstreams.app!.servers
    expect(servers.find((s) => s.url === `http://127.0.0.2:${p.port}`)).toMatchObject({ state: 'draining', active_requests: 1 })
    // The survivor is the same Server: its request in flight is still counted, its health kept.
    expect(servers.find((s) => s.url === `http://127.0.0.3:${p.port}`)).toMatchObject({ state: 'healthy', active_requests: 1 })
    expect(servers.find((s) => s.url === `http://127.0.0.4:${p.port}`)).toMatchObject({ state: 'unhealthy' })
    expect(distinct(await bodies(d, 4))).toEqual(['127.0.0.3'])
    for (const release of p.held) release()
    expect((await Promise.all(held)).map((r) => [r.status, r.body]).sort()).toEqual([[200, '127.0.0.2'], [200, '127.0.0.3']])
    await d.waitForLog((l) => l.msg === 'server drained: pool closed' && l.server === `127.0.0.2:${p.port}`)

    // A reload keeps what DNS found: nothing drains, no request meets an empty upstream.
    mark = d.logs.length
    writeFileSync(d.file, yaml)
    d.proc.kill('SIGHUP')
    await d.waitForLog((l) => d.logs.indexOf(l) >= mark && l.msg === 'config reloaded')
    expect(distinct(await bodies(d, 4))).toEqual(['127.0.0.3'])
    expect(d.logs.slice(mark).filter((l) => String(l.msg).includes('draining'))).toEqual([])
  })

  it('AAAA records: IPv6 servers, [address]:port', async (ctx) => {
    const six = http.createServer((_req, res) => res.end('six'))
    const ok = await new Promise<boolean>((resolve) => {
      six.once('error', () => resolve(false))
      six.listen(0, '::1', () => resolve(true))
    })
    if (!ok) return ctx.skip('no IPv6 loopback on this machine')
    defer({ close: () => new Promise<void>((r) => { six.closeAllConnections(); six.close(() => r()) }) })
    const port = (six.address() as AddressInfo).port
    const dns = await dnsServer()
    dns.zone.set('six.test', { aaaa: [{ address: '::1', ttl: 5 }] }) // no A record: NODATA for A
    const d = await daemon(dnsConfig(`      - dns: "six.test:${port}"`, dns))
    expect(distinct(await bodies(d, 2))).toEqual(['six'])
    expect((await status(d.adminUrl())).upstreams.app!.servers.map((s) => s.url)).toEqual([`http://[::1]:${port}`])
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_server_up', { upstream: 'app', server: `[::1]:${port}` })).toBe(1)
  })

  it('a TTL shorter than resolve_interval re-resolves sooner, never more often than every 1s', async () => {
    const p = await pods(['127.0.0.2', '127.0.0.3'])
    const dns = await dnsServer()
    dns.zone.set('app.test', { a: [{ address: '127.0.0.2', ttl: 0 }] })
    const d = await daemon(dnsConfig(`      - dns: "app.test:${p.port}"`, dns, 'resolve_interval: 30s'))
    const mark = d.logs.length
    dns.zone.set('app.test', { a: [{ address: '127.0.0.3', ttl: 0 }] })
    await changed(d, mark, `127.0.0.3:${p.port}`) // well before 30s
    const start = dns.queries.filter((q) => q.type === TYPE.A).length
    await dns.waitForQuery(() => dns.queries.filter((q) => q.type === TYPE.A).length >= start + 2)
    const times = dns.queries.filter((q) => q.type === TYPE.A && q.name === 'app.test').map((q) => q.at)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900) // a TTL of 0 is read as 1s
    expect(distinct(await bodies(d, 2))).toEqual(['127.0.0.3'])
  })

  it('an empty answer, a malformed one and a stopped DNS server keep the last good set, counted empty and failed', async () => {
    const p = await pods(['127.0.0.2'])
    const dns = await dnsServer()
    dns.zone.set('app.test', a('127.0.0.2'))
    const d = await daemon(dnsConfig(`      - dns: "app.test:${p.port}"`, dns, 'resolve_interval: 1s'))
    dns.zone.set('app.test', {}) // the name exists, without an address (NODATA)
    await d.waitForLog((l) => l.msg === 'dns lookup empty: keeping the last good servers' && l.servers === 1)
    expect(distinct(await bodies(d, 2))).toEqual(['127.0.0.2'])
    expect(await lookups(d, 'empty')).toBeGreaterThanOrEqual(1)
    dns.garbage = true
    const bad = await d.waitForLog((l) => l.msg === 'dns lookup failed: keeping the last good servers')
    expect([bad.result, bad.servers]).toEqual(['failed', 1])
    expect(distinct(await bodies(d, 2))).toEqual(['127.0.0.2'])
    await dns.stop()
    await d.waitForLog((l) => l.msg === 'dns lookup failed: keeping the last good servers' && l.err !== bad.err)
    expect(distinct(await bodies(d, 2))).toEqual(['127.0.0.2'])
    expect(await lookups(d, 'failed')).toBeGreaterThanOrEqual(2)
    expect((await request(d.adminUrl('/healthz'))).status).toBe(200)
  })

  it('1,000 records: the first 256 are taken, the cut is logged, nothing breaks', async () => {
    const dns = await dnsServer()
    const many = Array.from({ length: 1000 }, (_, i) => `10.77.${i >> 8}.${i & 255}`)
    dns.zone.set('big.test', { a: many.map((address) => ({ address, ttl: 300 })) })
    const ok = await backend('static')
    const d = await daemon(dnsConfig(`      - url: ${ok.url}\n      - dns: "big.test:8000"`, dns))
    const cut = await d.waitForLog((l) => l.msg === 'dns answer cut: only the first 256 addresses are used')
    expect([cut.records, cut.kept]).toEqual([1000, 256])
    expect(dns.queries.some((q) => q.tcp)).toBe(true) // the answer came over TCP, after a truncated UDP one
    const servers = (await status(d.adminUrl())).upstreams.app!.servers
    expect(servers.length).toBe(257)
    expect((await request(d.adminUrl('/healthz'))).status).toBe(200)
  })

  it('a name that does not exist at start: a clear error, 503 until it resolves', async () => {
    const p = await pods(['127.0.0.2'])
    const dns = await dnsServer()
    const d = await daemon(dnsConfig(`      - dns: "later.test:${p.port}"`, dns, 'resolve_interval: 2s'))
    const line = d.logs.find((l) => l.msg === 'dns lookup failed: no servers from this name yet (requests it would serve get 503)')
    expect(line).toMatchObject({ level: 'error', upstream: 'app', dns: `later.test:${p.port}`, err: 'ENOTFOUND', reason: 'the name does not exist (NXDOMAIN)' })
    const r = await request(d.url('/'))
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBeDefined()
    expect(await lookups(d, 'failed')).toBeGreaterThanOrEqual(1)
    const mark = d.logs.length
    dns.zone.set('later.test', a('127.0.0.2'))
    await changed(d, mark, `127.0.0.2:${p.port}`)
    expect(distinct(await bodies(d, 2))).toEqual(['127.0.0.2'])
  })
})

describe('srv: servers', () => {
  it('take each record\'s port and weight, of the lowest priority only', async () => {
    const [x, y, z] = [await backend('x'), await backend('y'), await backend('z')]
    const dns = await dnsServer()
    dns.zone.set('_http._tcp.app.test', {
      srv: [
        { priority: 10, weight: 3, port: x.port, target: 'x.app.test', ttl: 5 },
        { priority: 10, weight: 1, port: y.port, target: 'y.app.test', ttl: 5 },
        { priority: 20, weight: 1, port: z.port, target: 'z.app.test', ttl: 5 }, // a fallback: unused
      ],
    })
    for (const n of ['x', 'y', 'z']) dns.zone.set(`${n}.app.test`, a('127.0.0.1'))
    const d = await daemon(dnsConfig('      - srv: "_http._tcp.app.test"', dns))
    const got = await bodies(d, 8)
    expect(got.filter((b) => b === 'x').length).toBe(6)
    expect(got.filter((b) => b === 'y').length).toBe(2)
    const weights = (await status(d.adminUrl())).upstreams.app!.servers.map((s) => [s.url, s.weight])
    expect(weights.sort()).toEqual([[x.url, 3], [y.url, 1]].sort())
  })
})

describe('workers: 2', () => {
  it('one lookup loop in the primary feeds every worker; joiners slow-start', async () => {
    const p = await pods(['127.0.0.2', '127.0.0.3'])
    const dns = await dnsServer()
    dns.zone.set('app.test', a('127.0.0.2'))
    const d = await daemon(dnsConfig(`      - dns: "app.test:${p.port}"`, dns, 'resolve_interval: 1s\nslow_start: 500ms', 'workers: 2'))
    expect(distinct(await bodies(d, 4))).toEqual(['127.0.0.2'])
    const mark = d.logs.length
    dns.zone.set('app.test', a('127.0.0.2', '127.0.0.3'))
    await changed(d, mark, `127.0.0.3:${p.port}`)
    await d.waitForLog((l) => l.msg === 'server slow start' && l.server === `127.0.0.3:${p.port}`)
    dns.zone.set('app.test', a('127.0.0.3'))
    await d.waitForLog((l) => l.msg === 'dns servers changed' && (l.left as string[]).includes(`127.0.0.2:${p.port}`))
    // Every worker drops .2 (new connections alternate between the workers).
    let last: string[] = []
    for (let i = 0; i < 50; i++) {
      last = await bodies(d, 6)
      if (distinct(last).join() === '127.0.0.3') break
    }
    expect(distinct(last)).toEqual(['127.0.0.3'])
    expect(d.logs.filter((l) => l.msg === 'dns servers changed').length).toBe(3) // the primary's, once per change
    // One loop: lookups of the name at least ~1s apart (a loop per worker would make them closer).
    const times = dns.queries.filter((q) => q.type === TYPE.A && q.name === 'app.test').map((q) => q.at)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900)
    expect(await lookups(d, 'ok')).toBeGreaterThanOrEqual(3)
  })
})
