// runtime/affinity.ts in-process, on real requests (a node:http server on port 0 and real
// clients): what each hash key reads from a request, the IPv4-mapped form of a client
// address on a dual-stack listener, and which member a sticky cookie names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseConfig } from '../../src/config/load.js'
import type { UpstreamConfig } from '../../src/config/types.js'
import { NO_KEY } from '../../src/core/balancers.js'
import { hash32 } from '../../src/core/hash32.js'
import { stickyValue } from '../../src/core/sticky.js'
import { Affinity } from '../../src/shell/runtime/affinity.js'

function upstream(extra: string): UpstreamConfig {
  const r = parseConfig(`listeners: [{port: 8080}]\nupstreams:\n  app:\n    servers: [{url: "http://10.0.0.1:80"}, {url: "http://10.0.0.2:80"}]\n    ${extra.replaceAll('\n', '\n    ')}\n`)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.config.upstreams[0] as UpstreamConfig
}

/** A server that answers each request with what `read` makes of it. */
let current: (req: http.IncomingMessage) => unknown = () => null
const servers: http.Server[] = []
async function listen(host: string): Promise<number> {
  const s = http.createServer((req, res) => res.end(JSON.stringify(current(req))))
  servers.push(s)
  await new Promise<void>((resolve) => s.listen(0, host, resolve))
  return (s.address() as AddressInfo).port
}

function ask(port: number, path: string, headers: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve(JSON.parse(body)))
    }).on('error', reject)
  })
}

let v4 = 0
let dual = 0
beforeAll(async () => {
  v4 = await listen('127.0.0.1')
  dual = await listen('::').catch(() => 0) // no IPv6 on this machine: that row is skipped
})
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r))
})

describe('Affinity.keyOf', () => {
  it('is null without a hash balance or sticky', () => {
    expect(Affinity.of(upstream('balance: least_connections'))).toBeNull()
  })

  it.each<[string, string, Record<string, string>, number]>([
    ['balance: ip_hash', '/x', {}, hash32('127.0.0.1')],
    ['balance: hash\nhash_key: client_ip', '/x', {}, hash32('127.0.0.1')],
    ['balance: hash\nhash_key: path', '/item/7?t=1', {}, hash32('/item/7')],
    ['balance: hash\nhash_key: path', '/item/7', {}, hash32('/item/7')],
    ['balance: hash\nhash_key: "header:X-User"', '/', { 'x-user': 'u1' }, hash32('u1')],
    ['balance: hash\nhash_key: "header:X-User"', '/', {}, NO_KEY],
    ['balance: hash\nhash_key: "header:X-User"', '/', { 'x-user': '' }, NO_KEY],
    ['balance: hash\nhash_key: "cookie:sid"', '/', { cookie: 'a=1; sid=abc; b=2' }, hash32('abc')],
    ['balance: hash\nhash_key: "cookie:sid"', '/', { cookie: 'a=1; SID=abc' }, NO_KEY],
    ['balance: hash\nhash_key: "cookie:sid"', '/', { cookie: 'sid=' }, NO_KEY],
    ['balance: hash\nhash_key: "cookie:sid"', '/', {}, NO_KEY],
    ['sticky: {}', '/', { 'x-user': 'u1' }, NO_KEY], // round_robin + sticky: no hash key
  ])('%s, %s %j -> the hash of the key', async (extra, path, headers, expected) => {
    const affinity = Affinity.of(upstream(extra)) as Affinity
    current = (req) => affinity.keyOf(req)
    expect(await ask(v4, path, headers)).toBe(expected)
  })

  it('an IPv4 client on a dual-stack listener (::ffff:127.0.0.1) hashes as 127.0.0.1', async (ctx) => {
    if (dual === 0) return ctx.skip()
    const affinity = Affinity.of(upstream('balance: ip_hash')) as Affinity
    let seen = ''
    current = (req) => {
      seen = req.socket.remoteAddress ?? ''
      return affinity.keyOf(req)
    }
    expect(await ask(dual, '/')).toBe(hash32('127.0.0.1'))
    expect(seen).toBe('::ffff:127.0.0.1')
  })
})

describe('Affinity.pinnedOf', () => {
  const a = stickyValue('app', '10.0.0.1:80')
  const b = stickyValue('app', '10.0.0.2:80')

  it.each<[string, Record<string, string>, number]>([
    ['sticky: {}', { cookie: `sy_server=${a}` }, 0],
    ['sticky: {}', { cookie: `x=1; sy_server=${b}; y=2` }, 1],
    ['sticky: {}', { cookie: `sy_server=${b}0` }, -1], // longer: garbled
    ['sticky: {}', { cookie: `sy_server=${b.slice(1)}` }, -1],
    ['sticky: {}', { cookie: `sy_server=${stickyValue('other', '10.0.0.1:80')}` }, -1], // another upstream's value
    ['sticky: {}', { cookie: `route=${a}` }, -1],
    ['sticky: {}', {}, -1],
    ['sticky: {cookie: route}', { cookie: `route=${b}` }, 1],
    ['balance: ip_hash', { cookie: `sy_server=${a}` }, -1], // no sticky
  ])('%s, %j -> member %i', async (extra, headers, expected) => {
    const affinity = Affinity.of(upstream(extra)) as Affinity
    current = (req) => affinity.pinnedOf(req)
    expect(await ask(v4, '/', headers)).toBe(expected)
  })

  it('the Set-Cookie of each member names it', () => {
    const affinity = Affinity.of(upstream('sticky: {max_age: 2h}')) as Affinity
    expect(affinity.setCookies).toEqual([
      `sy_server=${a}; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax`,
      `sy_server=${b}; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax`,
    ])
    expect(affinity.secureSetCookies[1]).toBe(`sy_server=${b}; Path=/; Max-Age=7200; HttpOnly; SameSite=Lax; Secure`)
  })
})
