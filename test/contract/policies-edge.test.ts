// Edge policies (contract section 8) against the real daemon: rewrite and header rules as the
// server sees them, redirect, allow/deny, basic auth with an htpasswd file made by Debian's
// htpasswd -B, rate limit headers, maintenance and error pages, intercept_errors,
// max_connections_per_client, and switchyard_policy_denials_total.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { needTool } from '../helpers/tools.js'

const dir = mkdtempSync(join(tmpdir(), 'sy-policies-'))
const page = (name: string, html: string): string => {
  const p = join(dir, name)
  writeFileSync(p, html)
  return p
}

describe('edge policies', () => {
  const scope = closeAfterEach()

  it('rewrite, header rules, redirect, allow/deny, maintenance, rate limit, error pages, intercept_errors, denials metric', async () => {
    const seen: { url: string; headers: Record<string, string | string[] | undefined> }[] = []
    const backend = await scope.backend('app', (req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers })
      if (req.url?.startsWith('/boom')) {
        res.writeHead(502, { 'content-type': 'text/plain' })
        res.end('app trace')
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain', server: 'gunicorn', 'x-powered-by': 'flask', 'x-keep': 'yes' })
      res.end('ok')
    })
    const yaml = `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${backend.url} }] }
error_pages: { 404: ${page('404.html', '<h1>no such page</h1>')}, 503: ${page('503.html', '<h1>back soon</h1>')} }
routes:
  - match: { path_prefix: /api }
    upstream: app
    rewrite_prefix: /
    request_headers: { set: { X-Env: prod, Host: app.internal }, add: { X-Tag: a }, remove: [X-Debug] }
    response_headers: { set: { Strict-Transport-Security: "max-age=31536000" }, remove: [Server, X-Powered-By] }
  - match: { host: old.test }
    redirect: { to: "https://new.test{path}", status: 308 }
  - match: { path_prefix: /office }
    upstream: app
    allow: ["10.0.0.0/8"]
  - match: { path_prefix: /local }
    upstream: app
    allow: ["::ffff:127.0.0.0/104"]
    deny: ["127.0.0.2"]
  - match: { path_prefix: /down }
    upstream: app
    maintenance: true
  - match: { path_prefix: /limited }
    upstream: app
    rate_limit: { requests: 2, per: 1m, burst: 1, key: "header:X-Api-Key" }
  - match: { path_prefix: /boom }
    upstream: app
    intercept_errors: true
    error_pages: { 502: ${page('502.html', '<h1>our 502</h1>')} }
  - match: { path_prefix: /boom-raw }
    upstream: app
`
    const d = await scope.daemon(yaml)

    const api = await request(d.url('/api/users?id=7'), { headers: { 'x-debug': '1', 'x-env': 'dev' } })
    expect(api.status).toBe(200)
    const got = seen.at(-1)!
    expect(got.url).toBe('/users?id=7')
    expect(got.headers).toMatchObject({ 'x-env': 'prod', host: 'app.internal', 'x-tag': 'a', 'x-forwarded-host': `127.0.0.1:${d.port()}` })
    expect(got.headers['x-debug']).toBeUndefined()
    expect(api.headers['strict-transport-security']).toBe('max-age=31536000')
    expect(api.headers.server).toBeUndefined()
    expect(api.headers['x-powered-by']).toBeUndefined()
    expect(api.headers['x-keep']).toBe('yes')
    expect((await request(d.url('/api'))).status).toBe(200)
    expect(seen.at(-1)!.url).toBe('/')

    const moved = await request(d.url('/a/b?c=1'), { headers: { host: 'old.test:8080' } })
    expect(moved.status).toBe(308)
    expect(moved.headers.location).toBe('https://new.test/a/b?c=1')

    const before = seen.length
    const forbidden = await request(d.url('/office/x'))
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers['x-request-id']).toBeTruthy()
    expect((await request(d.url('/local/x'))).status).toBe(200) // 127.0.0.1, IPv4 against an IPv4-mapped range

    const down = await request(d.url('/down/x'), { headers: { 'x-request-id': 'maint-1' } })
    expect(down.status).toBe(503)
    expect(down.headers['retry-after']).toBe('60')
    expect(down.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(down.headers['x-request-id']).toBe('maint-1')
    expect(down.body).toBe('<h1>back soon</h1>')
    expect(seen.length).toBe(before + 1) // only /local reached the server

    const key = { 'x-api-key': 'k1' }
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await request(d.url('/limited/x'), { headers: key })).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    const limited = await request(d.url('/limited/x'), { headers: key })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(limited.headers['ratelimit-policy']).toBe('"route-5";q=2;w=60')
    expect(limited.headers.ratelimit).toMatch(/^"route-5";r=0;t=\d+$/)
    expect((await request(d.url('/limited/x'), { headers: { 'x-api-key': 'k2' } })).status).toBe(200) // its own budget

    const boom = await request(d.url('/boom'))
    expect(boom.status).toBe(502)
    expect(boom.body).toBe('<h1>our 502</h1>')
    const raw = await request(d.url('/boom-raw'))
    expect(raw.body).toBe('app trace') // passed through unchanged without intercept_errors

    const none = await request(d.url('/nothing'), { headers: { host: 'unknown.test' } })
    expect(none.status).toBe(404)
    expect(none.body).toBe('<h1>no such page</h1>')
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_policy_denials_total', { route: 'route-2', policy: 'access' })).toBe(1)
    expect(seriesValue(text, 'switchyard_policy_denials_total', { route: 'route-4', policy: 'maintenance' })).toBe(1)
    expect(seriesValue(text, 'switchyard_policy_denials_total', { route: 'route-5', policy: 'rate_limit' })).toBe(3)
  })

  it('basic auth with an htpasswd -B file: 401 + WWW-Authenticate, Authorization not forwarded; reload re-reads the file', async (ctx) => {
    needTool(ctx, 'htpasswd', 'apache2-utils')
    const users = join(dir, 'htpasswd')
    execFileSync('htpasswd', ['-cbB', '-C', '5', users, 'alice', 's3cret'], { stdio: 'ignore' })
    const seen: (string | undefined)[] = []
    const backend = await scope.backend('app', (req, res) => {
      seen.push(req.headers.authorization)
      res.end('in')
    })
    const d = await scope.daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: ${backend.url} }] } }
routes: [{ upstream: app, basic_auth: { realm: staff, users_file: ${users} } }]
`)
    const basic = (u: string, p: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` })
    const anon = await request(d.url('/'))
    expect(anon.status).toBe(401)
    expect(anon.headers['www-authenticate']).toBe('Basic realm="staff", charset="UTF-8"')
    expect((await request(d.url('/'), { headers: basic('alice', 'wrong') })).status).toBe(401)
    expect((await request(d.url('/'), { headers: basic('mallory', 's3cret') })).status).toBe(401)
    const ok = await request(d.url('/'), { headers: basic('alice', 's3cret') })
    expect(ok.status).toBe(200)
    expect((await request(d.url('/'), { headers: basic('alice', 's3cret') })).status).toBe(200) // from the verified cache
    expect(seen).toEqual([undefined, undefined])

    execFileSync('htpasswd', ['-bB', '-C', '5', users, 'alice', 'n3w'], { stdio: 'ignore' })
    d.proc.kill('SIGHUP')
    await d.waitForLog((l) => l.msg === 'config reloaded')
    expect((await request(d.url('/'), { headers: basic('alice', 's3cret') })).status).toBe(401)
    expect((await request(d.url('/'), { headers: basic('alice', 'n3w') })).status).toBe(200)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_policy_denials_total', { route: 'route-0', policy: 'auth' })).toBe(4) // the series outlives a reload
  })

  it('max_connections_per_client closes connections over the cap', async () => {
    const backend = await scope.backend('app')
    const d = await scope.daemon(`
listeners: [{ address: 127.0.0.1, port: 0, max_connections_per_client: 2 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: ${backend.url} }] } }
`)
    const open = (): Promise<{ socket: net.Socket; closed: Promise<void> }> => new Promise((resolve, reject) => {
      const socket = net.connect(d.port(), '127.0.0.1', () => {
        socket.on('error', () => undefined) // the one over the cap is reset
        resolve({ socket, closed: new Promise((r) => socket.once('close', () => r())) })
      })
      socket.once('error', reject)
    })
    const a = await open()
    const b = await open()
    const c = await open()
    await c.closed // the third is closed by the daemon
    // The two under the cap still serve.
    const status = await new Promise<string>((resolve, reject) => {
      b.socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      let out = ''
      b.socket.on('data', (x: Buffer) => { out += x.toString() })
      b.socket.once('close', () => resolve(out.slice(0, 12)))
      b.socket.once('error', reject)
    })
    expect(status).toBe('HTTP/1.1 200')
    a.socket.destroy()
  })
})
