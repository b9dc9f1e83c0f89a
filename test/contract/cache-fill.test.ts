// Concurrent misses for one cold key (issue #19, item 2 and its neighbours), through the real
// daemon against a slow real origin, with the memory store and with a real Redis: the fetch
// (the fill) belongs to the cache, not to the client that started it, so a client that
// leaves only leaves. Its own access log line says 499; every other client waiting on the
// fill gets the whole response, and the origin is asked once. When every waiting client has
// left, the fill still completes and stores the response (the documented choice, like
// nginx's proxy_cache_lock). A purge during a fill, and Redis killed during one, leave the
// waiting clients their full response.
// - The origin is slow on purpose: it answers after a delay, or streams its body in chunks.
//   Bodies are compared by length and sha256.
// - The client that starts the fill is sent first, and the others only once the origin has
//   its request, so which request leads is known. Leaving means destroying the socket.
// - The tests run concurrently (they mostly wait for the slow origin), each with its own
//   origin, daemon and Redis.
import { createHash } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { describe, it, type TestContext } from 'vitest'
import type { Backend } from '../helpers/backends.js'
import { request, sleep } from '../helpers/client.js'
import { startStore, STORE_KINDS, type StoreKind, type TestStore, cachedRouteConfig } from '../helpers/cache-stores.js'
import type { LogLine, RunningDaemon } from '../helpers/daemon.js'
import { scrape } from '../helpers/metrics.js'
import { parseExposition, sumSamples } from '../helpers/prometheus.js'
import { Rng } from '../helpers/prng.js'
import { stopRedis } from '../helpers/redis-server.js'
import { testScope } from '../helpers/test-scope.js'

const PATH = '/cold'
const CHUNK = 4096

/** How the origin answers: after `headMs`, the head and the first of `chunks` chunks, then one every `chunkMs`. */
interface Pace { headMs: number; chunks: number; chunkMs: number; cacheControl?: string }

interface Origin {
  backend: Backend
  readonly body: Buffer
  readonly sha: string
  /** Requests for PATH that reached the origin (other paths get a small answer at once). */
  count(): number
  /** Resolves when the first request reaches the origin. */
  readonly requested: Promise<void>
  /** Resolves when the origin's first response is over: sent whole, or cut by the daemon. */
  readonly over: Promise<void>
  /** When set, the origin waits for it before it answers. */
  gate: Promise<void> | null
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function bodyOf(chunks: number): Buffer {
  return Buffer.concat(Array.from({ length: chunks }, (_, i) => Buffer.alloc(CHUNK, 0x41 + (i % 26))))
}

interface Setup { d: RunningDaemon; origin: Origin; store: TestStore }

async function setup(ctx: TestContext, kind: StoreKind, pace: Pace): Promise<Setup> {
  const scope = testScope(ctx)
  const store = await startStore(ctx, scope, kind)
  const body = bodyOf(pace.chunks)
  let requested = (): void => {}
  let over = (): void => {}
  const origin: Origin = {
    backend: undefined as unknown as Backend,
    body,
    sha: sha256(body),
    count: () => origin.backend.seen.filter((r) => r.url === PATH).length,
    requested: new Promise((r) => { requested = r }),
    over: new Promise((r) => { over = r }),
    gate: null,
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url !== PATH) {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' })
      res.end(`other ${req.url}`)
      return
    }
    const first = origin.count() === 1
    if (first) requested()
    res.on('close', () => { if (first) over() })
    void (async () => {
      await sleep(pace.headMs)
      if (origin.gate !== null) await origin.gate
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': pace.cacheControl ?? 'max-age=60' })
      for (let i = 0; i < pace.chunks; i++) {
        if (i > 0) await sleep(pace.chunkMs)
        if (res.destroyed) return
        res.write(body.subarray(i * CHUNK, (i + 1) * CHUNK))
      }
      res.end()
    })()
  }
  origin.backend = await scope.backend('origin', handler)
  const d = await scope.daemon(cachedRouteConfig(origin.backend.url, store))
  return { d, origin, store }
}

/** One client's exchange: what it got, and whether the body ended as the response said it would. */
interface Got { id: string; status: number; cache: string | undefined; bytes: number; sha: string; complete: boolean; error: string | undefined }

interface Client {
  readonly id: string
  readonly done: Promise<Got>
  /** Resolves with the first body chunk. */
  readonly firstChunk: Promise<void>
  /** Body bytes received so far. */
  received(): number
  /** Destroys the connection (the client leaves). */
  leave(): void
}

function client(d: RunningDaemon, id: string, path = PATH): Client {
  let bytes = 0
  let chunked = (): void => {}
  const firstChunk = new Promise<void>((r) => { chunked = r })
  let req: http.ClientRequest
  const done = new Promise<Got>((resolve) => {
    const chunks: Buffer[] = []
    let status = 0
    let cache: string | undefined
    const finish = (complete: boolean, error?: string): void => {
      const b = Buffer.concat(chunks)
      resolve({ id, status, cache, bytes: b.length, sha: sha256(b), complete, error })
    }
    req = http.get(d.url(path), { agent: false, headers: { 'x-request-id': id } }, (res) => {
      status = res.statusCode ?? 0
      cache = res.headers['x-cache'] as string | undefined
      res.on('data', (c: Buffer) => { chunks.push(c); bytes += c.length; chunked() })
      res.on('end', () => finish(res.complete))
      res.on('error', (e) => finish(false, e.message))
    })
    req.on('error', (e) => finish(false, e.message))
  })
  return { id, done, firstChunk, received: () => bytes, leave: () => req.destroy() }
}

/** The access log lines of PATH, once there are `n` of them (at most 5 s). */
async function accessLines(d: RunningDaemon, n: number): Promise<LogLine[]> {
  const lines = (): LogLine[] => d.logs.filter((l) => l.msg === 'request' && l.path === PATH)
  for (let i = 0; i < 250 && lines().length < n; i++) await sleep(20)
  return lines()
}

/** Statuses of the access lines as `status: count`. */
function statusCounts(lines: readonly LogLine[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of lines) out[String(l.status)] = (out[String(l.status)] ?? 0) + 1
  return out
}

/** switchyard_requests_total summed per code. */
async function requestCodes(d: RunningDaemon): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const s of parseExposition(await scrape(d.adminUrl()))) {
    if (s.name === 'switchyard_requests_total' && s.value > 0) out[s.labels.code!] = (out[s.labels.code!] ?? 0) + s.value
  }
  return out
}

/** The leader first, then the others once the origin has the fill's request. */
async function cold(s: Setup, followers: number): Promise<{ leader: Client; others: Client[] }> {
  const leader = client(s.d, 'leader')
  await s.origin.requested
  const others = Array.from({ length: followers }, (_, i) => client(s.d, `follower-${i}`))
  return { leader, others }
}

/** What a client that stayed should have got. */
const whole = (o: Origin, id: string, cache = 'MISS'): Got => ({ id, status: 200, cache, bytes: o.body.length, sha: o.sha, complete: true, error: undefined })

describe.concurrent.each(STORE_KINDS)('cache fill, %s store', (kind) => {
  it('5 concurrent requests for a cold key, the first leaves after 300 ms while the origin takes 1 s: the other 4 get the whole response, the origin is asked once, only the leaver is 499', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 1000, chunks: 4, chunkMs: 0 })
    const t0 = Date.now()
    const { leader, others } = await cold(s, 4)
    await sleep(300 - (Date.now() - t0))
    leader.leave()
    const got = await Promise.all(others.map((c) => c.done))
    const lines = await accessLines(s.d, 5)
    const leaderLine = lines.find((l) => l.request_id === 'leader')
    ctx.expect({
      followers: got,
      originRequests: s.origin.count(),
      statuses: statusCounts(lines),
      leader: leaderLine?.status,
      codes: await requestCodes(s.d),
    }).toEqual({
      followers: others.map((c) => whole(s.origin, c.id)),
      originRequests: 1,
      statuses: { 200: 4, 499: 1 },
      leader: 499,
      codes: { 200: 4, 499: 1 },
    })
    // The fill stored it.
    const hit = await request(s.d.url(PATH))
    ctx.expect([hit.headers['x-cache'], s.origin.count()]).toEqual(['HIT', 1])
  })

  it('the leader leaves mid-body (after its first chunk): every follower receives the complete body', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 200, chunks: 10, chunkMs: 100 })
    const { leader, others } = await cold(s, 4)
    await leader.firstChunk
    leader.leave()
    const got = await Promise.all(others.map((c) => c.done))
    const lines = await accessLines(s.d, 5)
    ctx.expect({ followers: got, originRequests: s.origin.count(), statuses: statusCounts(lines) }).toEqual({
      followers: others.map((c) => whole(s.origin, c.id)),
      originRequests: 1,
      statuses: { 200: 4, 499: 1 },
    })
  })

  it('a request that arrives mid-body of the fill gets the complete body (what was received, then the rest); the origin is asked once', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 0, chunks: 10, chunkMs: 100 })
    const first = client(s.d, 'first')
    for (let i = 0; i < 100 && first.received() < 3 * CHUNK; i++) await sleep(20)
    const receivedWhenJoining = first.received()
    const late = client(s.d, 'late')
    const got = await Promise.all([first.done, late.done])
    ctx.expect(receivedWhenJoining).toBeGreaterThanOrEqual(3 * CHUNK)
    ctx.expect(receivedWhenJoining).toBeLessThan(s.origin.body.length)
    ctx.expect({ got, originRequests: s.origin.count() }).toEqual({
      got: [whole(s.origin, 'first'), whole(s.origin, 'late')],
      originRequests: 1,
    })
  })

  it('50 requests for a cold key, 10 of them (the leader among them) leaving at random times during a 1 s body: the 40 others get the complete body, the origin is asked once, exactly 10 lines say 499', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 100, chunks: 10, chunkMs: 100 })
    const rng = new Rng(19)
    const leaving = new Set<number>([0])
    while (leaving.size < 10) leaving.add(rng.int(1, 49))
    const { leader, others } = await cold(s, 49)
    const all = [leader, ...others]
    // The last chunk leaves the origin 1 s after the request: every leaver leaves before it.
    for (const i of leaving) setTimeout(() => all[i]!.leave(), rng.int(200, 800))
    const stayed = all.filter((_, i) => !leaving.has(i))
    const got = await Promise.all(stayed.map((c) => c.done))
    const lines = await accessLines(s.d, 50)
    ctx.expect({ stayed: got, originRequests: s.origin.count(), statuses: statusCounts(lines) }).toEqual({
      stayed: stayed.map((c) => whole(s.origin, c.id)),
      originRequests: 1,
      statuses: { 200: 40, 499: 10 },
    })
  })

  it('every waiting client leaves before the origin answers: the fill still completes and stores the response (the next request is a HIT that does not reach the origin)', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 1000, chunks: 4, chunkMs: 0 })
    const mark = await s.store.mark()
    const { leader, others } = await cold(s, 2)
    await sleep(300)
    for (const c of [leader, ...others]) c.leave()
    await s.origin.over
    await s.store.settled(mark)
    const next = await request(s.d.url(PATH))
    const lines = await accessLines(s.d, 4)
    ctx.expect({
      next: { status: next.status, cache: next.headers['x-cache'], bytes: Buffer.byteLength(next.body) },
      originRequests: s.origin.count(),
      statuses: statusCounts(lines),
    }).toEqual({
      next: { status: 200, cache: 'HIT', bytes: s.origin.body.length },
      originRequests: 1,
      statuses: { 200: 1, 499: 3 },
    })
  })

  it('an admin purge during a fill: the waiting client gets its whole response, but it is not stored (the next request is a MISS that reaches the origin)', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 0, chunks: 4, chunkMs: 0 })
    let purged = (): void => {}
    s.origin.gate = new Promise((r) => { purged = r })
    // The client whose miss started the fill: it is at the origin (held by the gate) when
    // the purge comes. (Followers could not be made to join first: with Redis their lookup
    // may end after the fill, and they start one of their own, as they should.)
    const { leader, others } = await cold(s, 0)
    const url = `http://127.0.0.1:${s.d.port()}${PATH}`
    const purge = await request(s.d.adminUrl(`/cache/purge?url=${encodeURIComponent(url)}`), { method: 'POST' })
    ctx.expect(purge.status).toBe(200)
    purged()
    const got = await Promise.all([leader, ...others].map((c) => c.done))
    await s.store.quiet()
    const next = await request(s.d.url(PATH))
    ctx.expect({ got, next: next.headers['x-cache'], originRequests: s.origin.count() }).toEqual({
      got: [leader, ...others].map((c) => whole(s.origin, c.id)),
      next: 'MISS',
      originRequests: 2,
    })
  })

  it('a client alone on its MISS leaves mid-body: its line says 499, and the response is still stored (the next request is a HIT with the whole body)', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 0, chunks: 10, chunkMs: 100 })
    const mark = await s.store.mark()
    const alone = client(s.d, 'alone')
    await alone.firstChunk
    alone.leave()
    await s.origin.over
    await s.store.settled(mark)
    const next = client(s.d, 'next')
    const got = await next.done
    const lines = await accessLines(s.d, 2)
    ctx.expect({ line: lines.find((l) => l.request_id === 'alone')?.status, next: got, originRequests: s.origin.count() }).toEqual({
      line: 499,
      next: whole(s.origin, 'next', 'HIT'),
      originRequests: 1,
    })
  })

  if (kind === 'redis') it('Redis killed (SIGKILL) while the fill\'s body streams: the clients get the whole body with 200, the daemon stays up, the cache goes BYPASS, and switchyard_cache_redis_errors_total rises', async (ctx) => {
    const s = await setup(ctx, kind, { headMs: 200, chunks: 10, chunkMs: 100 })
    const redisErrors = async (): Promise<number> => sumSamples(parseExposition(await scrape(s.d.adminUrl())), 'switchyard_cache_redis_errors_total', { cache: 'c' })
    const before = await redisErrors()
    const { leader, others } = await cold(s, 2)
    // Every client has joined the fill and has its first chunk: Redis goes away mid-body.
    await Promise.all([leader, ...others].map((c) => c.firstChunk))
    await stopRedis(s.store.redis!, 'SIGKILL')
    const got = await Promise.all([leader, ...others].map((c) => c.done))
    // Afterwards: every request still answered, soon without the cache.
    const after: string[] = []
    for (let i = 0; i < 20 && !after.includes('BYPASS'); i++) {
      const r = await request(s.d.url(`/after-${i}`))
      after.push(`${r.status} ${String(r.headers['x-cache'])}`)
      if (r.status !== 200) break
    }
    ctx.expect({
      got,
      originRequests: s.origin.count(),
      after: after.at(-1),
      daemonUp: s.d.proc.exitCode === null && s.d.proc.signalCode === null,
      redisErrorsRose: (await redisErrors()) > before,
    }).toEqual({
      got: [leader, ...others].map((c) => whole(s.origin, c.id)),
      originRequests: 1,
      after: '200 BYPASS',
      daemonUp: true,
      redisErrorsRose: true,
    })
  })
})
