// docs/operations.md#lifecycle: SIGHUP reloads the config file; a bad one changes nothing.
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { request, sleep } from '../helpers/client.js'
import { scrape, seriesValue, status } from '../helpers/metrics.js'

const { backend, daemon } = closeAfterEach()

/** Rewrites the daemon's config file, sends SIGHUP, waits for the outcome's log line. */
async function reload(d: RunningDaemon, yaml: string): Promise<'reloaded' | 'refused'> {
  const before = d.logs.length
  writeFileSync(d.file, yaml)
  d.proc.kill('SIGHUP')
  const line = await d.waitForLog((l) => d.logs.indexOf(l) >= before && (l.msg === 'config reloaded' || l.msg === 'reload refused: the running config stays'))
  return line.msg === 'config reloaded' ? 'reloaded' : 'refused'
}

async function names(d: RunningDaemon, n: number, path = '/'): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((await request(d.url(path))).body)
  return out
}

describe('reload on SIGHUP', () => {
  it('applies a good config at once: new servers in, removed servers out', async () => {
    const [a, b, c] = [await backend('a'), await backend('b'), await backend('c')]
    const d = await daemon(oneUpstream([a.url, b.url]))
    expect((await names(d, 4)).sort()).toEqual(['a', 'a', 'b', 'b'])
    expect(await reload(d, oneUpstream([b.url, c.url]))).toBe('reloaded')
    expect((await names(d, 4)).sort()).toEqual(['b', 'b', 'c', 'c'])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(1)
  })

  it('keeps the old config on a bad file, logs every problem, counts a failure', async () => {
    const a = await backend('a')
    const d = await daemon(oneUpstream([a.url]))
    expect(await reload(d, 'listeners: []\nupstreams:\n  app: { servers: [{ url: ftp://x }], sevrers: 1 }\n')).toBe('refused')
    const line = d.logs.find((l) => l.msg === 'reload refused: the running config stays')!
    const problems = line.problems as string[]
    expect(problems.some((p) => /^listeners: /.test(p))).toBe(true)
    expect(problems.some((p) => /^upstreams\.app\.servers\.0\.url: .*\(line 3\)/.test(p))).toBe(true)
    expect(problems.some((p) => /^upstreams\.app\.sevrers: unknown key/.test(p))).toBe(true)
    expect((await request(d.url('/'))).body).toBe('a')
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'failure' })).toBe(1)
    expect(seriesValue(text, 'switchyard_config_reloads_total', { result: 'success' })).toBe(0)
  })

  it('refuses, as a whole, a change that needs a restart (listener, admin address)', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(oneUpstream([a.url]))
    expect(await reload(d, oneUpstream([b.url]).replace('address: 127.0.0.1\n    port: 0', 'address: 127.0.0.1\n    port: 1'))).toBe('refused')
    const line = d.logs.findLast((l) => l.msg === 'reload refused: the running config stays')!
    expect((line.problems as string[])[0]).toMatch(/^listeners: changed from .* listeners change only on a restart/)
    expect((await request(d.url('/'))).body).toBe('a') // not half-applied: the server change did not happen either
    expect(await reload(d, oneUpstream([b.url]).replace('admin:\n  port: 0', 'admin:\n  port: 0\n  address: 0.0.0.0'))).toBe('refused')
    expect((await request(d.url('/'))).body).toBe('a')
  })

  it('a server that stays keeps its health, counts and pool; a removed one drains', async () => {
    let release: () => void = () => {}
    const a = await backend('a', (req, res) => {
      if (req.url === '/hold') release = () => res.end('held')
      else res.end('a')
    })
    const b = await backend('b', (req, res) => {
      if (req.url === '/health') res.writeHead(500).end()
      else res.end('b')
    })
    const hc = 'health_check: { interval: 100ms, timeout: 80ms, unhealthy_threshold: 1 }'
    const d = await daemon(oneUpstream([a.url, b.url], hc))
    const B = `127.0.0.1:${b.port}`
    const A = `127.0.0.1:${a.port}`
    await d.waitForLog((l) => l.msg === 'server state changed' && l.server === B && l.to === 'unhealthy')
    expect(await names(d, 2)).toEqual(['a', 'a'])
    const held = request(d.url('/hold')) // in flight on a
    await sleep(100)

    // a is removed while busy; b stays (and stays unhealthy: its state carries over); c is new.
    const c = await backend('c')
    expect(await reload(d, oneUpstream([b.url, c.url], hc))).toBe('reloaded')
    const doc = await status(d.adminUrl())
    expect(doc.upstreams.app!.servers).toMatchObject([
      { url: b.url, weight: 1, state: 'unhealthy', active_requests: 0, admin_state: 'active', drained: false },
      { url: c.url, weight: 1, state: 'healthy', active_requests: 0, admin_state: 'active', drained: false },
      { url: a.url, weight: 1, state: 'draining', active_requests: 1, admin_state: 'active', drained: false }, // removed: drained once its request ends
    ])
    expect(await names(d, 3)).toEqual(['c', 'c', 'c'])
    expect(d.logs.filter((l) => l.msg === 'server state changed' && l.server === B)).toHaveLength(1) // no reset to healthy

    release()
    expect((await held).body).toBe('held') // the in-flight request finished on the removed server
    await d.waitForLog((l) => l.msg === 'server drained: pool closed' && l.server === A)
    expect((await status(d.adminUrl())).upstreams.app!.servers.map((s) => s.url)).toEqual([b.url, c.url])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_server_up', { upstream: 'app', server: A })).toBeUndefined()
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: A, method: 'GET', code: '200' })).toBeUndefined()
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: `127.0.0.1:${c.port}`, method: 'GET', code: '200' })).toBe(3)
  })

  it('keeps the counts of a server that stays, and applies new weights', async () => {
    const [a, b] = [await backend('a'), await backend('b')]
    const d = await daemon(oneUpstream([a.url, b.url]))
    await names(d, 4)
    const weighted = oneUpstream([a.url, b.url]).replace(`- url: ${a.url}`, `- url: ${a.url}\n        weight: 3`)
    expect(await reload(d, weighted)).toBe('reloaded')
    expect((await names(d, 8)).filter((n) => n === 'a')).toHaveLength(6)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: `127.0.0.1:${a.port}`, method: 'GET', code: '200' })).toBe(8)
  })
})

describe('switchyard reload', () => {
  it('validates the file, then signals the pid in the pid file', async () => {
    const a = await backend('a')
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-pid-'))
    const pidFile = join(dir, 'switchyard.pid')
    const d = await daemon(oneUpstream([a.url]), { SWITCHYARD_PID_FILE: pidFile })
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(d.proc.pid))

    writeFileSync(d.file, 'upstreams: nope\n')
    const bad = await runCli(['reload', '--config', d.file, '--pid-file', pidFile])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/upstreams: /)
    await sleep(300)
    expect(d.logs.some((l) => String(l.msg).startsWith('reload'))).toBe(false) // no signal was sent

    const b = await backend('b')
    writeFileSync(d.file, oneUpstream([b.url]))
    const good = await runCli(['reload', '--config', d.file, '--pid-file', pidFile])
    expect(good).toMatchObject({ code: 0, stdout: `config ok; sent SIGHUP to ${d.proc.pid}\n` })
    await d.waitForLog((l) => l.msg === 'config reloaded')
    expect((await request(d.url('/'))).body).toBe('b')
    expect(await d.stop()).toBe(0)
    expect(() => readFileSync(pidFile)).toThrow(/ENOENT/) // removed on exit
  })

  it('says how to reload when there is no pid file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-')), 'c.yaml')
    writeFileSync(file, oneUpstream(['http://127.0.0.1:1']))
    const r = await runCli(['reload', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/kill -HUP <pid>.*systemctl reload switchyard/)
    const stale = await runCli(['reload', '--config', file, '--pid-file', join(tmpdir(), 'no-such-switchyard.pid')])
    expect(stale.code).toBe(1)
    expect(stale.stderr).toMatch(/cannot read the pid file .*ENOENT/)
  })
})
