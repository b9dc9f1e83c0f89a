// Revalidation of stored responses (issue #19, item 1 and its neighbours), through the real
// daemon against a real origin, with the memory store and with a real Redis: a 304 refreshes
// the stored response (RFC 9111 4.3.4: its header fields replace the stored ones and the
// age starts again from the 304), so the entry is fresh again for its max-age and the next
// requests do not reach the origin; stale-while-revalidate and stale-if-error around it; a
// 200 replaces the entry.
// - max-age=1 keeps the tests short. The origin's clock runs up to a second ahead (its Date
//   is the current time rounded up to the second): Date has a one-second resolution, and an
//   RFC 9111 age computed from a Date rounded down would make a max-age=1 entry stale
//   anywhere within its first second. A Date a little ahead adds no apparent age.
// - Each scenario is checked as one object of what was seen against what should be, so a
//   failure shows every symptom at once.
// - The tests run concurrently (they mostly wait for entries to go stale), each with its own
//   origin, daemon and Redis.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, it, type TestContext } from 'vitest'
import type { Backend } from '../helpers/backends.js'
import { request, sleep, type Reply } from '../helpers/client.js'
import { startStore, STORE_KINDS, type StoreKind, type TestStore, cachedRouteConfig } from '../helpers/cache-stores.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { parseExposition, sumSamples } from '../helpers/prometheus.js'
import { scrape } from '../helpers/metrics.js'
import { testScope } from '../helpers/test-scope.js'

const TEN_DAYS_AGO = new Date(Date.now() - 10 * 86_400_000).toUTCString()

/** The origin's Date: now, rounded up to the second (see the header comment). */
const aheadDate = (): string => new Date(Math.ceil(Date.now() / 1000) * 1000).toUTCString()

interface Origin {
  backend: Backend
  /** Requests that reached the origin. */
  count(): number
  /** A request header of the i-th request that reached the origin. */
  header(i: number, name: string): string | undefined
  /** When the origin last answered (epoch ms). */
  lastAnswer: number
}

type Answer = { status: number; headers: Record<string, string>; body?: string; delayMs?: number }

interface Setup { d: RunningDaemon; origin: Origin; store: TestStore }

async function setup(ctx: TestContext, kind: StoreKind, answer: (req: IncomingMessage, n: number) => Answer): Promise<Setup> {
  const scope = testScope(ctx)
  const store = await startStore(ctx, scope, kind)
  const origin: Origin = {
    backend: undefined as unknown as Backend,
    count: () => origin.backend.seen.length,
    header(i, name) {
      const raw = origin.backend.seen[i]?.rawHeaders ?? []
      for (let j = 0; j + 1 < raw.length; j += 2) if (raw[j]!.toLowerCase() === name) return raw[j + 1]
      return undefined
    },
    lastAnswer: 0,
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const a = answer(req, origin.backend.seen.length)
    const send = (): void => {
      res.sendDate = false
      res.writeHead(a.status, { date: aheadDate(), ...(a.status === 304 ? {} : { 'content-type': 'text/plain' }), ...a.headers })
      res.end(a.body)
      origin.lastAnswer = Date.now()
    }
    if (a.delayMs === undefined) send()
    else setTimeout(send, a.delayMs)
  }
  origin.backend = await scope.backend('origin', handler)
  const d = await scope.daemon(cachedRouteConfig(origin.backend.url, store))
  return { d, origin, store }
}

const get = (d: RunningDaemon, path = '/page'): Promise<Reply> => request(d.url(path))

/** What a test compares of a response. */
function seen(r: Reply, ...headers: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { status: r.status, cache: r.headers['x-cache'], age: r.headers.age === undefined ? undefined : Number(r.headers.age), body: r.body }
  for (const h of headers) out[h] = r.headers[h]
  return out
}

/** seen() of a STALE answer: its Age only has to show it is stale (at least max-age=1). */
function seenStale(r: Reply): Record<string, unknown> {
  const out = seen(r)
  if (typeof out.age === 'number' && out.age >= 1) out.age = '>= 1'
  return out
}

/** Sleeps until the last answer of the origin is more than `maxAge` seconds old. */
async function untilStale(origin: Origin, maxAge = 1): Promise<void> {
  await sleep(Math.max(0, origin.lastAnswer + maxAge * 1000 + 100 - Date.now()))
}

/** A MISS that is stored (waited for), confirmed by a HIT; returns the MISS. */
async function stored(ctx: TestContext, s: Setup): Promise<Reply> {
  const mark = await s.store.mark()
  const miss = await get(s.d)
  ctx.expect(seen(miss)).toMatchObject({ status: 200, cache: 'MISS' })
  await s.store.settled(mark)
  ctx.expect(seen(await get(s.d))).toMatchObject({ status: 200, cache: 'HIT', body: miss.body })
  ctx.expect(s.origin.count()).toBe(1)
  return miss
}

/** A stale request answered after a revalidation, then (its refresh stored) the next one. */
async function revalidated(s: Setup, path = '/page'): Promise<{ first: Reply; next: Reply }> {
  const mark = await s.store.mark()
  const first = await get(s.d, path)
  await s.store.settled(mark)
  return { first, next: await get(s.d, path) }
}

describe.concurrent.each(STORE_KINDS)('revalidation, %s store', (kind) => {
  const validators = { 'cache-control': 'max-age=1', etag: '"v1"' }

  it('a 304 that repeats Cache-Control refreshes the entry: a HIT with Age 0, and the next request is a HIT that does not reach the origin', async (ctx) => {
    const s = await setup(ctx, kind, (req) => req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: validators } : { status: 200, headers: validators, body: 'body v1' })
    await stored(ctx, s)
    await untilStale(s.origin)
    const { first, next } = await revalidated(s)
    ctx.expect({ first: seen(first), next: seen(next), originRequests: s.origin.count(), ifNoneMatch: s.origin.header(1, 'if-none-match') }).toEqual({
      first: { status: 200, cache: 'HIT', age: 0, body: 'body v1' },
      next: { status: 200, cache: 'HIT', age: 0, body: 'body v1' },
      originRequests: 2,
      ifNoneMatch: '"v1"',
    })
  })

  it('a 304 without Cache-Control: fresh again for the stored max-age, counted from the 304', async (ctx) => {
    const s = await setup(ctx, kind, (req) => req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { status: 200, headers: validators, body: 'body v1' })
    await stored(ctx, s)
    await untilStale(s.origin)
    const { first, next } = await revalidated(s)
    ctx.expect({ first: seen(first), next: seen(next), originRequests: s.origin.count() }).toEqual({
      first: { status: 200, cache: 'HIT', age: 0, body: 'body v1' },
      next: { status: 200, cache: 'HIT', age: 0, body: 'body v1' },
      originRequests: 2,
    })
    // And only for max-age: once stale again, the next request revalidates again.
    await untilStale(s.origin)
    ctx.expect(seen(await get(s.d))).toMatchObject({ status: 200, cache: 'HIT', age: 0 })
    ctx.expect(s.origin.count()).toBe(3)
  })

  it('Age counts from the last 304, never from the first fetch: 2.5 s of requests, every one after the first a HIT with Age 0, the origin asked once a second, conditionally', async (ctx) => {
    const s = await setup(ctx, kind, (req) => req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: validators } : { status: 200, headers: validators, body: 'body v1' })
    const first = await get(s.d)
    const later = new Map<string, number>()
    const start = Date.now()
    while (Date.now() - start < 2500) {
      await sleep(100)
      const r = await get(s.d)
      const key = `${r.status} ${String(r.headers['x-cache'])} Age ${String(r.headers.age)}`
      later.set(key, (later.get(key) ?? 0) + 1)
    }
    const n = s.origin.count()
    const conditional = Array.from({ length: n }, (_, i) => s.origin.header(i, 'if-none-match') ?? 'none')
    ctx.expect({ first: first.headers['x-cache'], later: [...later.keys()], conditional }).toEqual({
      first: 'MISS',
      later: ['200 HIT Age 0'],
      conditional: ['none', ...Array.from({ length: n - 1 }, () => '"v1"')],
    })
    ctx.expect(n).toBeGreaterThanOrEqual(2)
    ctx.expect(n).toBeLessThanOrEqual(3)
  })

  it('Last-Modified only: revalidated with If-Modified-Since, and the 304 refreshes the entry', async (ctx) => {
    const headers = { 'cache-control': 'max-age=1', 'last-modified': TEN_DAYS_AGO }
    const s = await setup(ctx, kind, (req) => req.headers['if-modified-since'] === TEN_DAYS_AGO ? { status: 304, headers } : { status: 200, headers, body: 'body lm' })
    await stored(ctx, s)
    await untilStale(s.origin)
    const { first, next } = await revalidated(s)
    ctx.expect({
      first: seen(first), next: seen(next), originRequests: s.origin.count(),
      conditions: { ifModifiedSince: s.origin.header(1, 'if-modified-since'), ifNoneMatch: s.origin.header(1, 'if-none-match') },
    }).toEqual({
      first: { status: 200, cache: 'HIT', age: 0, body: 'body lm' },
      next: { status: 200, cache: 'HIT', age: 0, body: 'body lm' },
      originRequests: 2,
      conditions: { ifModifiedSince: TEN_DAYS_AGO, ifNoneMatch: undefined },
    })
  })

  it('a 304 with new header fields updates the stored headers: later hits carry them', async (ctx) => {
    const s = await setup(ctx, kind, (req) => req.headers['if-none-match'] === '"v1"'
      ? { status: 304, headers: { ...validators, 'x-version': '2' } }
      : { status: 200, headers: { ...validators, 'x-version': '1' }, body: 'body v1' })
    const miss = await stored(ctx, s)
    ctx.expect(miss.headers['x-version']).toBe('1')
    await untilStale(s.origin)
    const { first, next } = await revalidated(s)
    ctx.expect({ first: seen(first, 'x-version'), next: seen(next, 'x-version'), originRequests: s.origin.count() }).toEqual({
      first: { status: 200, cache: 'HIT', age: 0, body: 'body v1', 'x-version': '2' },
      next: { status: 200, cache: 'HIT', age: 0, body: 'body v1', 'x-version': '2' },
      originRequests: 2,
    })
  })

  it('stale-while-revalidate: the stale request is answered at once (STALE) while a background revalidation gets a 304; the next request is a HIT that does not reach the origin', async (ctx) => {
    const headers = { 'cache-control': 'max-age=1, stale-while-revalidate=5', etag: '"v1"' }
    let notModifiedSent: () => void = () => {}
    const revalidation = new Promise<void>((resolve) => { notModifiedSent = resolve })
    let answered304 = false
    const s = await setup(ctx, kind, (req) => {
      if (req.headers['if-none-match'] !== '"v1"') return { status: 200, headers, body: 'body v1' }
      setTimeout(() => { answered304 = true; notModifiedSent() }, 300)
      return { status: 304, headers, delayMs: 300 } // the origin takes its time: the stale answer must not wait for it
    })
    await stored(ctx, s)
    await untilStale(s.origin)
    const mark = await s.store.mark()
    const stale = await get(s.d)
    const beforeThe304 = !answered304
    await Promise.race([revalidation, sleep(2000)])
    await s.store.settled(mark)
    const next = await get(s.d)
    ctx.expect({ stale: seenStale(stale), beforeThe304, next: seen(next), originRequests: s.origin.count(), ifNoneMatch: s.origin.header(1, 'if-none-match') }).toEqual({
      stale: { status: 200, cache: 'STALE', age: '>= 1', body: 'body v1' },
      beforeThe304: true,
      next: { status: 200, cache: 'HIT', age: 0, body: 'body v1' },
      originRequests: 2,
      ifNoneMatch: '"v1"',
    })
  })

  it('stale-if-error: the origin down after expiry, the stored body is answered STALE with 200, and the failure counts in switchyard_upstream_errors_total', async (ctx) => {
    const headers = { 'cache-control': 'max-age=1, stale-if-error=5', etag: '"v1"' }
    const s = await setup(ctx, kind, () => ({ status: 200, headers, body: 'body v1' }))
    await stored(ctx, s)
    const server = `127.0.0.1:${s.origin.backend.port}`
    const errors = async (): Promise<number> => sumSamples(parseExposition(await scrape(s.d.adminUrl())), 'switchyard_upstream_errors_total', { upstream: 'app', server })
    const before = await errors()
    await s.origin.backend.close() // connections refused from now on
    await untilStale(s.origin)
    const stale = await get(s.d)
    const line = await s.d.waitForLog((l) => l.msg === 'request' && l.request_id === stale.headers['x-request-id'])
    ctx.expect({ stale: seenStale(stale), errorsCounted: (await errors()) - before > 0, line: { status: line.status, cache: line.cache } }).toEqual({
      stale: { status: 200, cache: 'STALE', age: '>= 1', body: 'body v1' },
      errorsCounted: true,
      line: { status: 200, cache: 'STALE' },
    })
  })

  it('a 200 to the revalidation (changed content, new ETag) replaces the entry: a MISS with the new body, then HITs with it', async (ctx) => {
    const s = await setup(ctx, kind, (_req, n) => n === 1
      ? { status: 200, headers: { 'cache-control': 'max-age=1', etag: '"v1"' }, body: 'body v1' }
      : { status: 200, headers: { 'cache-control': 'max-age=1', etag: '"v2"' }, body: 'body v2' })
    await stored(ctx, s)
    await untilStale(s.origin)
    const { first, next } = await revalidated(s)
    ctx.expect({ first: seen(first, 'etag'), next: seen(next, 'etag'), originRequests: s.origin.count(), ifNoneMatch: s.origin.header(1, 'if-none-match') }).toEqual({
      first: { status: 200, cache: 'MISS', age: undefined, body: 'body v2', etag: '"v2"' },
      next: { status: 200, cache: 'HIT', age: 0, body: 'body v2', etag: '"v2"' },
      originRequests: 2,
      ifNoneMatch: '"v1"',
    })
  })
})
