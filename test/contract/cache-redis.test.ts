// The Redis cache store: two daemons share one real redis-server (started here on a free
// port, no persistence); killing Redis mid-run bypasses the cache without failing a request.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { request, sleep } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { needTool } from '../helpers/tools.js'
import { freePort } from '../helpers/prometheus.js'
import { startRedis, stopRedis } from '../helpers/redis-server.js'

/**
 * Stored URLs under the prefix (written once the response has ended): one hash per URL at
 * `<prefix>http://<host><target>` (shell/cache/redis-store.ts); with `path` (a glob), only
 * those for site.test paths matching it.
 */
function storedKeys(port: number, path = '*'): number {
  const pattern = path === '*' ? 'sy-test:*' : `sy-test:http://site.test${path}`
  const r = spawnSync('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l !== '').length
}

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    if (await pred()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('response cache (redis store)', () => {
  const scope = closeAfterEach()
  const redises: ChildProcess[] = []
  afterEach(async () => {
    for (const r of redises.splice(0)) await stopRedis(r)
  })

  it('two daemons share one Redis; Redis killed: requests still 200 (BYPASS), a log line, the error metric rises, then it comes back', async (ctx) => {
    needTool(ctx, 'redis-server', 'redis-server')
    const redisPort = await freePort()
    redises.push(await startRedis(redisPort))
    const counts = new Map<string, number>()
    const backend = await scope.backend('app', (req, res) => {
      counts.set(req.url ?? '', (counts.get(req.url ?? '') ?? 0) + 1)
      res.writeHead(200, { 'cache-control': 'max-age=60' })
      res.end(`body of ${req.url}`)
    })
    const yaml = `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${backend.url} }] }
caches:
  shared: { store: redis, redis: { url: "redis://127.0.0.1:${redisPort}", key_prefix: "sy-test:", timeout: 300ms } }
routes: [{ upstream: app, cache: shared }]
`
    const one = await scope.daemon(yaml)
    const two = await scope.daemon(yaml)
    // The Host header is the cache key: both daemons must be asked for the same host.
    const get = (d: typeof one, path: string) => request(d.url(path), { headers: { host: 'site.test' } })

    const first = await get(one, '/page')
    expect(first.headers['x-cache']).toBe('MISS')
    await waitFor('the entry in Redis', () => storedKeys(redisPort) === 1)
    const fromTwo = await get(two, '/page')
    expect(fromTwo.headers['x-cache']).toBe('HIT')
    expect(fromTwo.body).toBe('body of /page')
    expect(counts.get('/page')).toBe(1)

    // Purge through one daemon's admin port drops it for both.
    expect((await request(two.adminUrl('/cache/purge?url=http%3A%2F%2Fsite.test%2Fpage'), { method: 'POST' })).status).toBe(200)
    expect(storedKeys(redisPort)).toBe(0)
    expect((await get(one, '/page')).headers['x-cache']).toBe('MISS')
    expect(counts.get('/page')).toBe(2)

    await stopRedis(redises[0]!, 'SIGKILL')
    const results: string[] = []
    for (let i = 0; i < 20 && !results.includes('BYPASS'); i++) {
      const r = await get(one, `/down-${i}`)
      expect(r.status).toBe(200)
      expect(r.body).toBe(`body of /down-${i}`)
      results.push(String(r.headers['x-cache']))
    }
    expect(results).toContain('BYPASS')
    await one.waitForLog((l) => l.msg?.startsWith('cache store down') === true)
    const down = await scrape(one.adminUrl())
    expect(seriesValue(down, 'switchyard_cache_redis_errors_total', { cache: 'shared' })).toBeGreaterThan(0)
    expect(seriesValue(down, 'switchyard_cache_store_up', { cache: 'shared' })).toBe(0)
    expect(seriesValue(down, 'switchyard_cache_requests_total', { upstream: 'app', result: 'bypass' })).toBeGreaterThan(0)

    // Redis back on the same port: the probe notices, and the cache is used again.
    redises.push(await startRedis(redisPort))
    await one.waitForLog((l) => l.msg?.startsWith('cache store up') === true, 15_000)
    // A request may still race the probe (BYPASS, or its lookup fails and the store is
    // down again): fresh paths until one is a MISS whose own entry appears in Redis, and
    // that one must then be a HIT. Its own entry, not a count of all: a count also sees
    // whatever else reached Redis.
    let back = ''
    await waitFor('a response stored in Redis again', async () => {
      back = `/back-${Date.now()}`
      const r = await get(one, back)
      expect(r.status).toBe(200)
      if (r.headers['x-cache'] !== 'MISS') return false
      for (let i = 0; i < 25 && storedKeys(redisPort, back) === 0; i++) await sleep(20)
      return storedKeys(redisPort, back) === 1
    }, 20_000)
    expect((await get(one, back)).headers['x-cache']).toBe('HIT')
    // Nothing from the outage was written: the request whose lookup found Redis gone went
    // on as a miss, and its write, queued in the client until it reconnected, used to
    // land in the restarted Redis (now the store writes nothing while it is down).
    expect(storedKeys(redisPort, '/down-*')).toBe(0)
  }, 60_000)
})
