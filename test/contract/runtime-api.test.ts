// docs/operations.md#runtime-api: drain, disable, enable and weight per server on the admin
// port, through the real daemon (one process, and workers: 2 for the IPC path), and
// `switchyard ctl` as a deploy script runs it.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import net from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeAfterEach } from '../helpers/scope.js'
import { refusedPort, type Backend } from '../helpers/backends.js'
import { rawExchange, request, type Reply } from '../helpers/client.js'
import { status, type StatusServer } from '../helpers/metrics.js'
import { runCli, type RunningDaemon } from '../helpers/daemon.js'

const { backend, daemon, defer } = closeAfterEach()

const TOKEN = 'test-token-0123456789abcdef'
const dir = mkdtempSync(join(tmpdir(), 'sy-api-'))
let files = 0
function tokenFile(token = TOKEN): string {
  const path = join(dir, `token-${++files}`)
  writeFileSync(path, `${token}\n`)
  return path
}

/** YAML: upstream app over `servers`, the admin port, token file and extra top-level keys. */
function config(servers: string[], o: { token?: string | null; adminPort?: number; top?: string; upstream?: string } = {}): string {
  const token = o.token === undefined ? tokenFile() : o.token
  return `
listeners: [{ name: public, address: 127.0.0.1, port: 0 }]
admin:
  port: ${o.adminPort ?? 0}
${token === null ? '' : `  token_file: ${token}`}
${o.top ?? ''}
upstreams:
  app:
    servers:
${servers.map((u) => `      - url: ${u}`).join('\n')}
${(o.upstream ?? '').split('\n').map((l) => (l.trim() === '' ? '' : `    ${l}`)).join('\n')}
`
}

/** A backend whose /slow requests are held until release(); `arrived` resolves at the first. */
async function holding(name: string): Promise<Backend & { held: http.ServerResponse[]; arrived: Promise<void>; release(): void }> {
  const held: http.ServerResponse[] = []
  let arrivedResolve = (): void => {}
  const arrived = new Promise<void>((r) => { arrivedResolve = r })
  const b = await backend(name, (req, res) => {
    if (req.url === '/slow') {
      held.push(res)
      arrivedResolve()
    } else res.end(name)
  })
  return Object.assign(b, { held, arrived, release: () => { for (const r of held.splice(0)) r.end(`${name} slow`) } })
}

const id = (b: Backend): string => `127.0.0.1:${b.port}`
const path = (b: Backend | string, action: string, upstream = 'app'): string =>
  `/upstreams/${upstream}/servers/${typeof b === 'string' ? b : encodeURIComponent(id(b))}/${action}`

/** A call with the path sent exactly as written (a URL string would have `..` resolved by the client). */
function api(d: RunningDaemon, method: string, p: string, body?: string, token: string | null = TOKEN): Promise<Reply> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: d.adminPort(), method, path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function serverOf(d: RunningDaemon, b: Backend): Promise<StatusServer> {
  const s = (await status(d.adminUrl())).upstreams.app!.servers.find((x) => x.id === id(b))
  if (s === undefined) throw new Error(`${id(b)} not in /status`)
  return s
}

/** Polls /status (bounded) until `pred` holds for the server: the drained signal has no event to await. */
async function until(d: RunningDaemon, b: Backend, pred: (s: StatusServer) => boolean): Promise<StatusServer> {
  let s = await serverOf(d, b)
  for (let i = 0; i < 100 && !pred(s); i++) {
    await new Promise((r) => setTimeout(r, 20))
    s = await serverOf(d, b)
  }
  return s
}

async function names(d: RunningDaemon, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((await request(d.url('/'))).body)
  return out
}

const count = (list: string[], x: string): number => list.filter((v) => v === x).length

/** One JSON line `{"error": "..."}`. */
function expectError(r: Reply, status: number, match: RegExp): void {
  expect(r.status, r.body).toBe(status)
  expect(r.headers['content-type']).toBe('application/json')
  expect(r.body).toMatch(/^\{"error":"[^\n]+"\}\n$/)
  expect((JSON.parse(r.body) as { error: string }).error).toMatch(match)
}

describe('runtime API', () => {
  it('refuses bad calls with one JSON line each, and nothing changes or crashes', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(config([a.url, b.url]))
    const drainA = path(a, 'drain')
    expectError(await api(d, 'POST', drainA, undefined, null), 401, /bearer token/)
    expect((await api(d, 'POST', drainA, undefined, null)).headers['www-authenticate']).toBe('Bearer realm="switchyard"')
    expectError(await api(d, 'POST', drainA, undefined, 'wrong-token-0123456789abcdef'), 401, /bearer token/)
    expectError(await api(d, 'POST', drainA, undefined, TOKEN.slice(0, -1)), 401, /bearer token/)
    expectError(await api(d, 'POST', drainA, undefined, `${TOKEN}x`), 401, /bearer token/)
    for (const auth of [`Basic ${TOKEN}`, 'Bearer', 'Bearer  ', `Bearer ${TOKEN} extra`, `${TOKEN}`]) {
      expectError(await request(d.adminUrl(drainA), { method: 'POST', headers: { authorization: auth } }), 401, /bearer token/)
    // (Node's parser itself answers 400 to a header with control characters or over its size limit.)
    }
    const withBody = await api(d, 'POST', drainA, '{}', 'wrong-token-0123456789abcdef')
    expectError(withBody, 401, /bearer token/)
    expect(withBody.headers.connection).toBe('close') // its body unread: not kept alive
    expectError(await api(d, 'POST', path(a, 'drain', 'nope')), 404, /unknown upstream "nope"/)
    expectError(await api(d, 'POST', path('127.0.0.1:1', 'drain')), 404, /unknown server "127.0.0.1:1" in upstream "app"/)
    expectError(await api(d, 'POST', path(a, 'reboot')), 404, /unknown path/)
    expectError(await api(d, 'POST', `/upstreams/app/servers/${id(a)}/../drain`), 400, /"\.\."/)
    expectError(await api(d, 'POST', `/upstreams/app/servers/%2E%2E/drain`), 400, /"\.\."/)
    expectError(await api(d, 'POST', `/upstreams/app/servers/127.0.0.1%2F${a.port}/drain`), 400, /encoded "\/"/)
    expectError(await api(d, 'POST', `/upstreams/app//servers/${id(a)}/drain`), 400, /empty path segment/)
    const wrong = await api(d, 'GET', drainA)
    expectError(wrong, 405, /drain takes POST/)
    expect(wrong.headers.allow).toBe('POST')
    expectError(await api(d, 'POST', path(a, 'weight'), '{"weight": 5}'), 405, /weight takes PUT/)
    expectError(await api(d, 'PUT', path(a, 'weight'), '{"weight": 0}'), 400, /integer from 1 to 1000/)
    expectError(await api(d, 'PUT', path(a, 'weight'), 'five'), 400, /must be JSON/)
    expectError(await api(d, 'POST', drainA, '{"force": true}'), 400, /takes no parameters/)
    // Over 4 KiB: declared, and chunked without a length.
    expectError(await api(d, 'PUT', path(a, 'weight'), `{"weight": 5, "pad": "${'x'.repeat(5000)}"}`), 413, /larger than 4096 bytes/)
    const chunked = await rawExchange(d.adminPort(), `PUT ${path(a, 'weight')} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n1400\r\n${'x'.repeat(0x1400)}\r\n0\r\n\r\n`)
    expect(chunked).toMatch(/^HTTP\/1.1 413 /)
    expect(chunked).toContain('{"error":"the body is larger than 4096 bytes"}')
    // Nothing changed, the daemon serves on.
    expect((await status(d.adminUrl())).upstreams.app!.servers.map((s) => s.admin_state)).toEqual(['active', 'active'])
    expect((await names(d, 4)).sort()).toEqual(['a', 'a', 'b', 'b'])
  })

  it('drain: no new requests, the in-flight one finishes, then drained; enable puts it back; each change logged', async () => {
    const [a, b] = [await holding('a'), await holding('b')]
    const d = await daemon(config([a.url, b.url], { upstream: 'sticky: { cookie: sy }' }))
    const cookieA = await (async () => {
      for (let i = 0; i < 4; i++) {
        const r = await request(d.url('/'))
        if (r.body === 'a') return String(r.headers['set-cookie']).split(';')[0]!
      }
      throw new Error('a never answered')
    })()
    const slow = request(d.url('/slow'), { headers: { cookie: cookieA } }) // pinned to a
    await a.arrived
    const r = await api(d, 'POST', path(a, 'drain'))
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ upstream: 'app', server: id(a), admin_state: 'draining', weight: 1, config_weight: 1, changed: true })
    expect(await serverOf(d, a)).toMatchObject({ state: 'draining', admin_state: 'draining', drained: false, active_requests: 1 })
    expect(await names(d, 4)).toEqual(['b', 'b', 'b', 'b'])
    // The sticky cookie naming a falls through to b, as for a server that is down.
    expect((await request(d.url('/'), { headers: { cookie: cookieA } })).body).toBe('b')
    // Drain again: a 200 that changes nothing.
    expect(JSON.parse((await api(d, 'POST', path(a, 'drain'), '{}')).body)).toMatchObject({ changed: false })

    a.release()
    expect((await slow).body).toBe('a slow')
    expect(await until(d, a, (s) => s.drained)).toMatchObject({ drained: true, active_requests: 0, state: 'draining' })

    expect(JSON.parse((await api(d, 'POST', path(a, 'enable'))).body)).toMatchObject({ admin_state: 'active', changed: true })
    expect(await serverOf(d, a)).toMatchObject({ state: 'healthy', admin_state: 'active', drained: false })
    expect((await names(d, 4)).sort()).toEqual(['a', 'a', 'b', 'b'])
    await d.waitForLog((l) => l.msg === 'runtime change' && l.action === 'enable') // log lines are written in batches
    const changes = d.logs.filter((l) => l.msg === 'runtime change')
    expect(changes.map((l) => [l.action, l.from_admin_state, l.admin_state, l.server])).toEqual([
      ['drain', 'active', 'draining', id(a)], ['enable', 'draining', 'active', id(a)],
    ])
    expect(changes[0]!.client).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(JSON.stringify(d.logs)).not.toContain(TOKEN)
  })

  it('drain lets an open WebSocket finish (not drained while it is open); disable closes it at once', async () => {
    const ws = await backend('ws', (_req, res) => res.end('ws'))
    ws.server.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      socket.on('data', (c) => socket.write(c)) // echo
      socket.on('error', () => {})
      socket.on('end', () => socket.end()) // an http.Server socket is half-open: close it when the daemon does
    })
    const d = await daemon(config([ws.url]))
    const client = net.connect(d.port(), '127.0.0.1')
    defer({ close: async () => client.destroy() })
    const upgraded = new Promise<void>((resolve) => client.once('data', () => resolve()))
    client.write('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    await upgraded
    expect((await api(d, 'POST', path(ws, 'drain'))).status).toBe(200)
    expect(await serverOf(d, ws)).toMatchObject({ admin_state: 'draining', drained: false, websockets: 1, active_requests: 1 })
    const echoed = new Promise<string>((resolve) => client.once('data', (c) => resolve(c.toString())))
    client.write('still open')
    expect(await echoed).toBe('still open')

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    expect(JSON.parse((await api(d, 'POST', path(ws, 'disable'))).body)).toMatchObject({ admin_state: 'disabled' })
    await closed
    expect(await until(d, ws, (s) => s.drained)).toMatchObject({ admin_state: 'disabled', state: 'draining', drained: true, websockets: 0 })
    expect((await request(d.url('/'))).status).toBe(503) // its only server is out
  })

  it('weight changes the share, and null goes back to the configured weight', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(config([a.url, b.url]))
    const r = await api(d, 'PUT', path(a, 'weight'), '{"weight": 3}')
    expect(JSON.parse(r.body)).toEqual({ upstream: 'app', server: id(a), admin_state: 'active', weight: 3, config_weight: 1, changed: true })
    expect(await serverOf(d, a)).toMatchObject({ weight: 3, config_weight: 1 })
    const list = await names(d, 100)
    expect(count(list, 'a')).toBe(75)
    expect(count(list, 'b')).toBe(25)
    await api(d, 'PUT', path(a, 'weight'), '{"weight": null}')
    expect(await serverOf(d, a)).toMatchObject({ weight: 1, config_weight: 1 })
    const back = count(await names(d, 100), 'a')
    expect(back).toBeGreaterThanOrEqual(49) // 1:1 from wherever the 3:1 rotation left off
    expect(back).toBeLessThanOrEqual(51)
  })

  it('403 until a token_file is configured; survives reloads while the server stays; the token is re-read on SIGHUP', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(config([a.url, b.url], { token: null }))
    expectError(await api(d, 'POST', path(a, 'drain')), 403, /set admin.token_file/)

    const file = tokenFile()
    const reload = async (yaml: string): Promise<void> => {
      const before = d.logs.filter((l) => l.msg === 'config reloaded').length
      writeFileSync(d.file, yaml)
      d.proc.kill('SIGHUP')
      await d.waitForLog(() => d.logs.filter((l) => l.msg === 'config reloaded').length > before)
    }
    await reload(config([a.url, b.url], { token: file }))
    expect((await api(d, 'POST', path(a, 'drain'))).status).toBe(200)
    expect((await api(d, 'PUT', path(b, 'weight'), '{"weight": 2}')).status).toBe(200)

    // A new token in the same file, and new pool settings (a new Server object for the same server).
    writeFileSync(file, 'second-token-0123456789abcdef\n')
    await reload(config([a.url, b.url], { token: file, upstream: 'timeouts: { connect: 3s }' }))
    expectError(await api(d, 'POST', path(a, 'enable')), 401, /bearer token/)
    expect(await serverOf(d, a)).toMatchObject({ admin_state: 'draining', state: 'draining' })
    expect(await serverOf(d, b)).toMatchObject({ weight: 2, config_weight: 1 })
    expect(await names(d, 3)).toEqual(['b', 'b', 'b'])

    // Removed from the config: its change is dropped; back in the config, it is in service.
    await reload(config([b.url], { token: file }))
    expect(await d.waitForLog((l) => l.msg === 'runtime change dropped: the server left the config')).toMatchObject({ server: id(a), admin_state: 'draining' })
    await reload(config([a.url, b.url], { token: file }))
    expect(await serverOf(d, a)).toMatchObject({ admin_state: 'active' })
    expect((await names(d, 3)).sort()).toEqual(['a', 'b', 'b']) // b keeps its weight of 2
    expect((await api(d, 'POST', path(a, 'drain'), undefined, 'second-token-0123456789abcdef')).status).toBe(200)
  })

  it('a bad token file fails the reload and the old token keeps working', async () => {
    const a = await backend('a')
    const d = await daemon(config([a.url]))
    writeFileSync(d.file, config([a.url], { token: tokenFile('') }))
    d.proc.kill('SIGHUP')
    const refused = await d.waitForLog((l) => l.msg === 'reload refused: the running config stays')
    expect(JSON.stringify(refused.problems)).toContain('admin.token_file')
    expect((await api(d, 'POST', path(a, 'drain'))).status).toBe(200)
  })

  it('unix:/path servers are named with encoded slashes', async () => {
    const sock = join(mkdtempSync(join(tmpdir(), 'sy-api-sock-')), 'app.sock')
    const app = http.createServer((_req, res) => res.end('unix'))
    await new Promise<void>((r) => app.listen(sock, r))
    defer({ close: () => new Promise<void>((r) => { app.closeAllConnections(); app.close(() => r()) }) })
    const d = await daemon(config([`unix:${sock}`]))
    const r = await api(d, 'POST', `/upstreams/app/servers/unix:${encodeURIComponent(sock)}/drain`)
    expect(JSON.parse(r.body)).toMatchObject({ server: `unix:${sock}`, admin_state: 'draining' })
    expect((await request(d.url('/'))).status).toBe(503)
  })
})

describe('runtime API with workers: 2', () => {
  it('a change reaches every worker, and a restarted worker gets it', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(config([a.url, b.url], { top: 'workers: 2' }))
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'listening').length === 2)
    expect((await api(d, 'POST', path(a, 'drain'))).status).toBe(200)
    // Fresh connections go to both workers in turn: none of them sends to a.
    expect(count(await names(d, 8), 'a')).toBe(0)
    expect(await serverOf(d, a)).toMatchObject({ admin_state: 'draining', drained: true })

    const [victim] = d.logs.filter((l) => l.msg === 'worker ready').map((l) => Number(l.worker_pid))
    process.kill(victim!, 'SIGKILL')
    const died = await d.waitForLog((l) => l.msg === 'worker died: restarting it')
    await d.waitForLog((l) => l.msg === 'worker ready' && l.worker === died.worker && l.worker_pid !== victim)
    expect(count(await names(d, 8), 'a')).toBe(0)

    await api(d, 'PUT', path(a, 'weight'), '{"weight": 3}')
    await api(d, 'POST', path(a, 'enable'))
    const share = count(await names(d, 100), 'a')
    expect(share).toBeGreaterThanOrEqual(70) // 3:1 in each worker: ~75 of 100
    expect(share).toBeLessThanOrEqual(80)
  })
})

describe('switchyard ctl', () => {
  it('drain --wait returns 0 once drained (workers: 2), 3 on timeout; enable --wait once healthy', async () => {
    const [a, b] = [await holding('a'), await holding('b')]
    const adminPort = await refusedPort()
    const d = await daemon(config([a.url, b.url], { adminPort, top: 'workers: 2', upstream: 'sticky: { cookie: sy }' }))
    await d.waitForLog(() => d.logs.filter((l) => l.msg === 'listening').length === 2)
    // A request held in flight on a (the cookie pins it there).
    let cookieA = ''
    for (let i = 0; i < 8 && cookieA === ''; i++) {
      const r = await request(d.url('/'))
      if (r.body === 'a') cookieA = String(r.headers['set-cookie']).split(';')[0]!
    }
    const slow = request(d.url('/slow'), { headers: { cookie: cookieA } })
    await a.arrived

    const timedOut = await runCli(['ctl', 'drain', 'app', id(a), '--wait', '--timeout', '300ms', '--config', d.file])
    expect(timedOut.code, timedOut.stderr).toBe(3)
    expect(timedOut.stdout).toBe(`app ${id(a)}: draining, weight 1\n`)
    expect(timedOut.stderr).toMatch(/timed out after 300ms waiting for app 127\.0\.0\.1:\d+: 1 in flight/)

    const waiting = runCli(['ctl', 'drain', 'app', a.url, '--wait', '--timeout', '10s', '-c', d.file]) // the URL names it too
    await d.waitForLog(() => d.logs.filter((l) => String(l.msg).startsWith('runtime change')).length === 2)
    a.release()
    expect((await slow).body).toBe('a slow')
    const drained = await waiting
    expect(drained.code, drained.stderr).toBe(0)
    expect(drained.stdout).toBe(`app ${id(a)}: draining, weight 1\napp ${id(a)}: drained\n`)

    const enabled = await runCli(['ctl', 'enable', 'app', id(a), '--wait', '--config', d.file])
    expect(enabled.code, enabled.stderr).toBe(0)
    expect(enabled.stdout).toBe(`app ${id(a)}: active, weight 1\napp ${id(a)}: healthy\n`)
    const weight = await runCli(['ctl', 'weight', 'app', id(a), '4', '--config', d.file])
    expect(weight).toMatchObject({ code: 0, stdout: `app ${id(a)}: active, weight 4\n` })
    expect((await runCli(['ctl', 'weight', 'app', id(a), 'config', '--config', d.file])).stdout).toBe(`app ${id(a)}: active, weight 1\n`)
  })

  it('usage errors exit 2, refusals and unreachable daemons 1, each with one clear line', async () => {
    const a = await backend('a')
    const adminPort = await refusedPort()
    const file = join(dir, 'ctl.yaml')
    writeFileSync(file, config([a.url], { adminPort }))
    for (const args of [['ctl', 'restart', 'app', 'x:1'], ['ctl', 'drain', 'app'], ['ctl', 'weight', 'app', 'x:1', '0'], ['ctl', 'drain', 'app', 'x:1', '--wait', '--timeout', 'soon']]) {
      const r = await runCli([...args, '--config', file])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/^switchyard ctl: /)
    }
    expect((await runCli(['check', '--wait', '--config', file])).code).toBe(2)

    const down = await runCli(['ctl', 'drain', 'app', id(a), '--config', file])
    expect(down.code).toBe(1)
    expect(down.stderr).toBe(`switchyard ctl: no answer from the admin port 127.0.0.1:${adminPort}: ECONNREFUSED\n`)

    const d = await daemon(config([a.url], { adminPort }))
    const unknown = await runCli(['ctl', 'drain', 'app', '10.9.9.9:80', '--config', d.file])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe(`switchyard ctl: 404 unknown server "10.9.9.9:80" in upstream "app" (its servers: ${id(a)})\n`)

    const noToken = join(dir, 'no-token.yaml')
    writeFileSync(noToken, config([a.url], { adminPort, token: null }))
    const off = await runCli(['ctl', 'drain', 'app', id(a), '--config', noToken])
    expect(off.code).toBe(1)
    expect(off.stderr).toMatch(/has no admin\.token_file/)
    const bad = await runCli(['ctl', 'drain', 'app', id(a), '--config', join(dir, 'missing.yaml')])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/cannot read .*missing\.yaml: ENOENT/)
  })
})
