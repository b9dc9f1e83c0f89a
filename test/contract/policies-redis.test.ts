// The Redis rate limit store: two daemons on one real redis-server (started here on a free
// port) enforce one shared budget; Redis killed: requests pass (fail open), counted, and
// switchyard_rate_limit_store_up turns 0.
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { needTool } from '../helpers/tools.js'
import { freePort } from '../helpers/prometheus.js'
import { startRedis, stopRedis } from '../helpers/redis-server.js'

describe('rate limit (redis store)', () => {
  const scope = closeAfterEach()
  const redises: ChildProcess[] = []
  afterEach(async () => {
    for (const r of redises.splice(0)) await stopRedis(r)
  })

  it('two daemons share one budget; Redis down: fail open, counted, store_up 0', async (ctx) => {
    needTool(ctx, 'redis-server', 'redis-server')
    const redisPort = await freePort()
    redises.push(await startRedis(redisPort))
    const backend = await scope.backend('app')
    // 100 per minute, burst 99: a budget of 100 at once, and almost nothing refills during the test.
    const yaml = `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: ${backend.url} }] } }
routes: [{ upstream: app, rate_limit: { requests: 100, per: 1m, burst: 99, key: route, store: redis, redis: { url: "redis://127.0.0.1:${redisPort}", key_prefix: "sy-rl-test:" } } }]
`
    const one = await scope.daemon(yaml)
    const two = await scope.daemon(yaml)
    let ok = 0
    let limited = 0
    // 200 requests, alternating daemons, 10 at a time.
    for (let round = 0; round < 20; round++) {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => request((i % 2 === 0 ? one : two).url('/'))))
      for (const r of replies) if (r.status === 200) ok++; else if (r.status === 429) limited++
    }
    expect(ok + limited).toBe(200)
    expect(ok).toBeGreaterThanOrEqual(100)
    expect(ok).toBeLessThanOrEqual(104) // one budget of 100 (+ what refills at 100/min during the run)

    await stopRedis(redises[0]!, 'SIGKILL')
    const after = []
    for (let i = 0; i < 5; i++) after.push((await request(one.url('/'))).status)
    expect(after).toEqual([200, 200, 200, 200, 200])
    const text = await scrape(one.adminUrl())
    expect(seriesValue(text, 'switchyard_rate_limit_store_up', { route: 'route-0' })).toBe(0)
    expect(seriesValue(text, 'switchyard_rate_limit_store_errors_total', { route: 'route-0' })).toBeGreaterThanOrEqual(1)
  })
})
