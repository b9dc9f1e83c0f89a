// The benchmark harness's own logic (bench/, plain JS run by `npm run bench`): the config
// fragments merge as bench/README.md says, every scenario's configs are accepted by the real
// programs (switchyard check, nginx -t, haproxy -c), and the Node load generators measure what
// they claim against real backends: above all, the open-loop generator charges a stall to every
// request that was due during it (no coordinated omission).
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { runCli } from '../helpers/daemon.js'
import { closeAfterEach } from '../helpers/scope.js'
import { freePort } from '../helpers/prometheus.js'
import { needTool } from '../helpers/tools.js'

const BENCH = resolve(import.meta.dirname, '../../bench')
// A non-literal specifier: bench/ is plain JS without type declarations, so its modules come in
// untyped (`any`) instead of failing the strict test build.
const bench = (file: string) => import(join(BENCH, file))
const run = promisify(execFile)

const conf = await bench('conf.mjs')
const targets = await bench('targets.mjs')
const loads = await bench('load/children.mjs')
const stats = await bench('load/stats.mjs')
const proc = await bench('proc.mjs')
const scope = closeAfterEach()
const dir = mkdtempSync(join(tmpdir(), 'sy-bench-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const fdLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024)

type Spec = { kind: string, switchyard?: string, nginx?: object, haproxy?: object }
type Scenario = { name: string, targets?: string[], variants?: Record<string, Spec>, switchyard?: string, nginx?: object, haproxy?: object, toggle?: { name: string, switchyard: string } }
const scenarios: [string, Scenario][] = await Promise.all(readdirSync(join(BENCH, 'scenarios')).map(async (f) => [f, (await bench(`scenarios/${f}`)).default]))

/** Every (scenario, target) pair of a kind, with the fragments the harness would apply. */
function pairs(kind: string): { label: string, fragments: unknown[] }[] {
  return scenarios.flatMap(([file, sc]) => (sc.targets ?? Object.keys(targets.TARGETS)).flatMap((name) => {
    const spec: Spec = sc.variants?.[name] ?? targets.TARGETS[name]
    if (spec.kind !== kind) return []
    const fragments = [spec[kind as 'switchyard'], sc[kind as 'switchyard']]
    // A toggled scenario also reloads its switchyard targets with the toggle's fragment.
    const toggled = sc.toggle && kind === 'switchyard' ? [{ label: `${file} ${name}-${sc.toggle.name}`, fragments: [...fragments, sc.toggle.switchyard] }] : []
    return [{ label: `${file} ${name}`, fragments }, ...toggled]
  }))
}

describe('config fragments', () => {
  it.each([
    ['objects merge key by key', { a: { b: 1, c: 2 } }, { a: { c: 3 } }, { a: { b: 1, c: 3 } }],
    ['arrays replace', { l: [1, 2] }, { l: [3] }, { l: [3] }],
    ['scalars replace objects', { a: { b: 1 } }, { a: 5 }, { a: 5 }],
    ['undefined keeps the base', { a: 1 }, undefined, { a: 1 }],
    ['new keys are added', { a: 1 }, { b: { c: 2 } }, { a: 1, b: { c: 2 } }],
  ])('%s', (_name, base, over, want) => {
    expect(conf.deepMerge(base, over)).toEqual(want)
  })

  it.each([
    ['default', [], 20000, 4096],
    ['asked for, fits', [{ maxconn: 12000 }], 65536, 12000],
    ['asked for, capped by the descriptor limit', [{ maxconn: 12000 }], 20000, 9850],
    ['the scenario fragment wins over the target one', [{ maxconn: 100 }, { maxconn: 200 }], 20000, 200],
  ])('haproxy maxconn: %s', (_name, fragments, fds, want) => {
    expect(conf.haproxyMaxconn(fragments, fds)).toBe(want)
  })

  it('a `listener:` fragment merges into every listener', () => {
    const yaml = conf.switchyardYaml({ port: 1, backends: [2, 3], fragments: ['workers: auto\nlistener: { reuse_port: true }'] })
    expect(yaml).toMatch(/reuse_port: true/)
    expect(yaml).toMatch(/port: 1\n/)
    expect(yaml).not.toMatch(/^listener:/m)
  })

  it('a scenario YAML fragment lands in the switchyard config', () => {
    const yaml = conf.switchyardYaml({ port: 1, backends: [2, 3], fragments: ['log: { access_log: false }', 'workers: 2\nupstreams: { app: { retries: 0 } }'] })
    expect(yaml).toMatch(/access_log: false/)
    expect(yaml).toMatch(/workers: 2/)
    expect(yaml).toMatch(/retries: 0/)
    expect(yaml).toMatch(/url: http:\/\/127.0.0.1:3/) // the base's servers survive the merge
  })
})

describe('every scenario config is accepted by the program that runs it', () => {
  it.each(pairs('switchyard'))('switchyard check: $label', async ({ fragments }) => {
    const file = join(dir, `sy-${Math.random().toString(36).slice(2)}.yaml`)
    // A fixed port, as the bench gives one (reuse_port refuses 0); check binds nothing.
    writeFileSync(file, conf.switchyardYaml({ port: 9410, backends: targets.BACKEND_PORTS, fragments }))
    const r = await runCli(['check', '--config', file])
    expect(r.stdout + r.stderr).toMatch(/^ok/)
    expect(r.code).toBe(0)
  })

  it.for(pairs('nginx'))('nginx -t: $label', async (p, ctx) => {
    needTool(ctx, 'nginx', 'nginx')
    const d = mkdtempSync(join(dir, 'nginx-'))
    writeFileSync(`${d}/nginx.conf`, conf.nginxProxyConf({ port: 9410, backends: targets.BACKEND_PORTS, fragments: p.fragments }))
    await run('nginx', ['-t', '-q', '-p', `${d}/`, '-c', `${d}/nginx.conf`, '-e', `${d}/error.log`])
  })

  it('nginx -t: the backend pair', async (ctx) => {
    needTool(ctx, 'nginx', 'nginx')
    const d = mkdtempSync(join(dir, 'nginx-'))
    writeFileSync(`${d}/nginx.conf`, conf.nginxBackendConf({ backends: targets.BACKEND_PORTS, dir: d }))
    await run('nginx', ['-t', '-q', '-p', `${d}/`, '-c', `${d}/nginx.conf`, '-e', `${d}/error.log`])
  })

  it.for(pairs('haproxy'))('haproxy -c: $label', async (p, ctx) => {
    needTool(ctx, 'haproxy', 'haproxy')
    const file = join(dir, `haproxy-${Math.random().toString(36).slice(2)}.cfg`)
    writeFileSync(file, conf.haproxyCfg({ port: 9410, backends: targets.BACKEND_PORTS, fragments: p.fragments, fdLimit }))
    await run('haproxy', ['-c', '-q', '-f', file])
  })
})

describe('open-loop generator', () => {
  it('charges a stall to every request due during it (latency from the intended send time)', async () => {
    // One connection, 100 req/s for 1 s; the 20th response is held 300 ms. The ~30 requests due
    // meanwhile wait for the connection, and their wait counts: about 30% of samples are 10-300 ms.
    // A generator timing from the actual send (coordinated omission) would see one slow sample
    // and a p90 under a millisecond.
    let n = 0
    const b = await scope.backend('stall', (_req, res) => {
      const answer = () => { res.writeHead(200, { 'content-length': 12 }); res.end('hello world\n') }
      if (++n === 20) setTimeout(answer, 300)
      else answer()
    })
    const r = await loads.openLoop({ port: b.port, rate: 100, seconds: 1, connections: 1, path: '/' })
    expect(r).toMatchObject({ intended: 100, completed: 100, errors: 0 })
    expect(r.p90).toBeGreaterThan(100)
    expect(r.max).toBeGreaterThanOrEqual(290)
  })

  it('without a stall, the same load is fast', async () => {
    const b = await scope.backend('fast')
    const r = await loads.openLoop({ port: b.port, rate: 100, seconds: 1, connections: 1, path: '/' })
    expect(r).toMatchObject({ intended: 100, completed: 100, errors: 0 })
    expect(r.p50).toBeLessThan(50)
  })

  it('replaces connections the target closes, losing no request', async () => {
    const b = await scope.backend('closer', (_req, res) => {
      res.writeHead(200, { 'content-length': 12, connection: 'close' })
      res.end('hello world\n')
    })
    const r = await loads.openLoop({ port: b.port, rate: 100, seconds: 1, connections: 2, path: '/' })
    expect(r).toMatchObject({ intended: 100, completed: 100, errors: 0 })
    expect(r.closed).toBeGreaterThanOrEqual(99)
    expect(b.seen).toHaveLength(100)
  })

  it('reports a non-200 answer as an error with its status', async () => {
    const b = await scope.backend('teapot', (_req, res) => { res.writeHead(418, { 'content-length': 0 }); res.end() })
    const r = await loads.openLoop({ port: b.port, rate: 50, seconds: 1, connections: 1, path: '/' })
    expect(r).toMatchObject({ intended: 50, completed: 0, errors: 50, firstError: 'status 418' })
  })
})

describe('WebSocket and idle-connection generators', () => {
  it('wsload counts echoed messages and their round trips', async () => {
    const b = await scope.backend('ws')
    const wss = new WebSocketServer({ server: b.server, perMessageDeflate: false })
    wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })))
    scope.defer({ close: () => new Promise((r) => wss.close(r)) })
    const r = await loads.wsLoad({ port: b.port, connections: 4, seconds: 1, size: 64 })
    expect(r).toMatchObject({ connections: 4, errors: 0 })
    expect(r.requests).toBeGreaterThan(10)
    expect(r.p50).toBeGreaterThan(0)
  })

  it('idle holds its connections, each after one answered request, until released', async () => {
    const b = await scope.backend('idle')
    b.server.keepAliveTimeout = 60_000
    const held = await loads.holdIdle({ port: b.port, count: 300 })
    expect(held).toMatchObject({ open: 300, failed: 0 })
    expect(b.seen).toHaveLength(300)
    expect(await held.release()).toEqual({ stillOpen: 300 })
  })
})

describe('node-memory target', () => {
  it('fetches the path once, then answers every request with it as a switchyard cache hit would', async () => {
    const b = await scope.backend('origin', (_req, res) => {
      res.writeHead(200, { 'content-length': 12, 'cache-control': 'public, max-age=3600', 'keep-alive': 'timeout=5' })
      res.end('hello world\n')
    })
    const port = await freePort()
    const child = spawn(process.execPath, [join(BENCH, 'proxies/node-memory.mjs')], { env: { ...process.env, PORT: String(port), BACKENDS: b.url, FETCH_PATH: '/cacheable' }, stdio: 'ignore' })
    scope.defer({ close: () => proc.stop(child) })
    await proc.waitForPort(port)
    for (const path of ['/cacheable', '/other']) {
      const r = await fetch(`http://127.0.0.1:${port}${path}`)
      expect(await r.text()).toBe('hello world\n')
      expect(r.status).toBe(200)
      expect(r.headers.get('cache-control')).toBe('public, max-age=3600')
      expect(r.headers.get('age')).toBe('0')
      expect(r.headers.get('x-cache')).toBe('HIT')
      expect(r.headers.get('x-request-id')).toHaveLength(36) // a UUID's length, as switchyard's
      expect(r.headers.get('keep-alive')).toBe('timeout=75') // its own, not the origin's hop-by-hop one
    }
    expect(b.seen.map((x) => x.url)).toEqual(['/cacheable'])
  })
})

describe('stats', () => {
  const to1000 = Array.from({ length: 1000 }, (_, i) => 1000 - i)
  it.each([
    ['empty', [], 50, NaN],
    ['one sample', [5], 99, 5],
    ['p50 of 4', [4, 1, 3, 2], 50, 2],
    ['p75 of 4', [1, 2, 3, 4], 75, 3],
    ['p99 of 4', [1, 2, 3, 4], 99, 4],
    ['p0 is the smallest', [3, 1, 2], 0, 1],
    ['p99 of 1..1000', to1000, 99, 990],
    ['p99.9 of 1..1000 (a float rounding trap)', to1000, 99.9, 999],
    ['p100 of 1..1000', to1000, 100, 1000],
  ])('percentile: %s', (_name, xs, p, want) => {
    expect(stats.percentile(stats.sortNum(xs), p)).toEqual(want)
  })

  it('median ignores missing values and takes the lower middle', () => {
    expect(stats.median([3, NaN, 1, 2])).toBe(2)
    expect(stats.median([4, 1, 3, 2])).toBe(2)
    expect(stats.median([])).toBeNaN()
  })
})
