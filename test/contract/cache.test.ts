// Response caching (issue #7) through the real daemon with a memory store, against a
// backend that counts the requests reaching it per path and answers with the caching
// headers the path names.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'

const TEN_DAYS_AGO = new Date(Date.now() - 10 * 86_400_000).toUTCString()
const IN_AN_HOUR = new Date(Date.now() + 3_600_000).toUTCString()

/** Response headers by path (the query is ignored). */
const HEADERS: Record<string, Record<string, string>> = {
  '/max-age': { 'cache-control': 'max-age=60' },
  '/s-maxage': { 'cache-control': 's-maxage=60, max-age=0' },
  '/expires': { expires: IN_AN_HOUR },
  '/heuristic': { 'last-modified': TEN_DAYS_AGO },
  '/nothing': {},
  '/no-store': { 'cache-control': 'no-store' },
  '/private': { 'cache-control': 'private, max-age=60' },
  '/vary': { 'cache-control': 'max-age=60', vary: 'accept-language' },
  '/auth': { 'cache-control': 'max-age=60' },
  '/auth-public': { 'cache-control': 'public, max-age=60' },
  '/etag': { 'cache-control': 'no-cache', etag: '"v1"' },
  '/slow': { 'cache-control': 'max-age=60' },
  '/purge-me': { 'cache-control': 'max-age=60' },
  '/purge-all': { 'cache-control': 'max-age=60' },
  '/no-header': { 'cache-control': 'max-age=60' },
  '/stale-if-error': { 'cache-control': 'max-age=1, stale-if-error=60', 'last-modified': TEN_DAYS_AGO },
}

describe('response cache (memory store)', () => {
  let backend: Backend
  let daemon: RunningDaemon
  const hits = new Map<string, http.IncomingHttpHeaders[]>()
  const count = (path: string): number => hits.get(path)?.length ?? 0
  /** Paths whose requests the backend answers by resetting the connection. */
  const failing = new Set<string>()

  beforeAll(async () => {
    backend = await startBackend('cache', (req, res) => {
      const url = req.url ?? '/'
      const seen = hits.get(url) ?? []
      seen.push(req.headers)
      hits.set(url, seen)
      const path = url.split('?', 1)[0] as string
      if (failing.has(path)) {
        req.socket.destroy()
        return
      }
      const headers = HEADERS[path] ?? {}
      // A client's conditional request with the current ETag: not modified.
      if (path === '/etag' && req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, headers)
        res.end()
        return
      }
      const body = `${path} #${seen.length} ${req.headers['accept-language'] ?? ''}`
      // /slow answers late, so that concurrent requests all arrive while it is a miss.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain', ...headers })
        res.end(body)
      }, path === '/slow' ? 300 : 0)
    })
    daemon = await startDaemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app: { servers: [{ url: ${backend.url} }] }
caches:
  pages: {}
  quiet: { x_cache_header: false }
routes:
  - { match: { path_prefix: / }, upstream: app, cache: pages }
  - { match: { path_prefix: /no-header }, upstream: app, cache: quiet }
  - { match: { path_prefix: /plain }, upstream: app }
`)
  })
  afterAll(async () => {
    await daemon.stop()
    await backend.close()
  })

  const get = (path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET') => request(daemon.url(path), { headers, method })

  it('max-age: a MISS, then a HIT with Age that never reaches the server', async () => {
    const first = await get('/max-age')
    const second = await get('/max-age')
    expect(first.headers['x-cache']).toBe('MISS')
    expect(first.headers.age).toBeUndefined()
    expect(second.headers['x-cache']).toBe('HIT')
    expect(Number(second.headers.age)).toBeGreaterThanOrEqual(0)
    expect(second.body).toBe(first.body)
    expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id'])
    expect(count('/max-age')).toBe(1)
    // The access log says it too (like nginx's $upstream_cache_status); a hit has no server.
    const line = (id: unknown) => daemon.waitForLog((l) => l.kind === 'access' && l.request_id === id)
    expect(await line(first.headers['x-request-id'])).toMatchObject({ cache: 'MISS', status: 200, server: '127.0.0.1:' + backend.port })
    expect(await line(second.headers['x-request-id'])).toMatchObject({ cache: 'HIT', status: 200, server: '' })
  })

  it.each([
    ['s-maxage (a shared cache uses it over max-age=0)', '/s-maxage', 1],
    ['Expires in the future', '/expires', 1],
    ['heuristic freshness from Last-Modified', '/heuristic', 1],
    ['nothing that allows storing', '/nothing', 2],
    ['no-store', '/no-store', 2],
    ['private (a shared cache must not store it)', '/private', 2],
  ])('%s: the server sees %#', async (_what, path, expected) => {
    const a = await get(path)
    const b = await get(path)
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    expect(count(path)).toBe(expected)
    expect(b.headers['x-cache']).toBe(expected === 1 ? 'HIT' : 'MISS')
  })

  it('Vary: one stored response per Accept-Language', async () => {
    const en = await get('/vary', { 'accept-language': 'en' })
    const fr = await get('/vary', { 'accept-language': 'fr' })
    const en2 = await get('/vary', { 'accept-language': 'en' })
    expect([en.headers['x-cache'], fr.headers['x-cache'], en2.headers['x-cache']]).toEqual(['MISS', 'MISS', 'HIT'])
    expect(en2.body).toBe(en.body)
    expect(fr.body).toContain('fr')
    expect(count('/vary')).toBe(2)
  })

  it('Authorization: not served from the cache unless the response is public', async () => {
    for (let i = 0; i < 2; i++) expect((await get('/auth', { authorization: 'Bearer a' })).headers['x-cache']).toBe('MISS')
    expect(count('/auth')).toBe(2)
    await get('/auth-public', { authorization: 'Bearer a' })
    expect((await get('/auth-public', { authorization: 'Bearer a' })).headers['x-cache']).toBe('HIT')
    expect(count('/auth-public')).toBe(1)
  })

  it('no-cache + ETag: each reuse is revalidated with If-None-Match, and the 304 serves the stored body', async () => {
    const first = await get('/etag')
    const second = await get('/etag')
    expect(first.headers['x-cache']).toBe('MISS')
    expect(second.status).toBe(200)
    expect(second.body).toBe(first.body)
    expect(second.headers['x-cache']).toBe('HIT')
    const seen = hits.get('/etag') ?? []
    expect(seen).toHaveLength(2)
    expect(seen[0]?.['if-none-match']).toBeUndefined()
    expect(seen[1]?.['if-none-match']).toBe('"v1"')
  })

  it('stale-if-error: a failed revalidation answers the stored response as STALE, and the failure counts', async () => {
    const first = await get('/stale-if-error')
    expect(first.headers['x-cache']).toBe('MISS')
    await new Promise((r) => setTimeout(r, 1100)) // max-age=1: stale now
    const server = `127.0.0.1:${backend.port}`
    const errors = async (): Promise<number> => seriesValue(await scrape(daemon.adminUrl()), 'switchyard_upstream_errors_total', { upstream: 'app', server, reason: 'reset' }) ?? 0
    const before = await errors()
    failing.add('/stale-if-error')
    const stale = await get('/stale-if-error')
    failing.delete('/stale-if-error')
    expect(stale.status).toBe(200)
    expect(stale.body).toBe(first.body)
    expect(stale.headers['x-cache']).toBe('STALE')
    expect(count('/stale-if-error')).toBe(2) // the revalidation reached the server, which failed it
    expect(await errors()).toBe(before + 1)
    const line = await daemon.waitForLog((l) => l.kind === 'access' && l.request_id === stale.headers['x-request-id'])
    expect(line).toMatchObject({ status: 200, cache: 'STALE', server })
  })

  it('100 concurrent requests for a cold key reach the server once', async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, () => get('/slow')))
    expect(replies.every((r) => r.status === 200 && r.body === '/slow #1 ')).toBe(true)
    expect(count('/slow')).toBe(1)
    expect((await get('/slow')).headers['x-cache']).toBe('HIT')
  })

  it('methods the cache does not take: BYPASS; a POST invalidates the stored URL', async () => {
    await get('/max-age?post')
    expect((await get('/max-age?post')).headers['x-cache']).toBe('HIT')
    const post = await request(daemon.url('/max-age?post'), { method: 'POST', body: 'x' })
    expect(post.headers['x-cache']).toBe('BYPASS')
    expect((await get('/max-age?post')).headers['x-cache']).toBe('MISS')
    expect(count('/max-age?post')).toBe(3)
  })

  it('x_cache_header: false leaves X-Cache out (the cache still works); routes without cache have none', async () => {
    await get('/no-header')
    const hit = await get('/no-header')
    expect(hit.headers['x-cache']).toBeUndefined()
    expect(hit.headers.age).toBeDefined()
    expect(count('/no-header')).toBe(1)
    expect((await get('/plain')).headers['x-cache']).toBeUndefined()
  })

  it('admin purge of one URL: the next request is a MISS that reaches the server; purge all drops the rest', async () => {
    await get('/purge-me')
    await get('/purge-all')
    expect((await get('/purge-me')).headers['x-cache']).toBe('HIT')
    const url = `http://127.0.0.1:${daemon.port()}/purge-me`
    const purged = await request(daemon.adminUrl(`/cache/purge?url=${encodeURIComponent(url)}`), { method: 'POST' })
    expect(purged.status).toBe(200)
    expect(JSON.parse(purged.body)).toEqual({ purged: url })
    expect((await get('/purge-me')).headers['x-cache']).toBe('MISS')
    expect(count('/purge-me')).toBe(2)
    expect((await get('/purge-all')).headers['x-cache']).toBe('HIT')
    expect((await request(daemon.adminUrl('/cache/purge?all=true'), { method: 'POST' })).status).toBe(200)
    expect((await get('/purge-all')).headers['x-cache']).toBe('MISS')
    expect(count('/purge-all')).toBe(2)
  })

  it('admin purge refuses what it cannot use', async () => {
    expect((await request(daemon.adminUrl('/cache/purge?url=x'))).status).toBe(405)
    expect((await request(daemon.adminUrl('/cache/purge'), { method: 'POST' })).status).toBe(400)
    expect((await request(daemon.adminUrl('/cache/purge?url=not-a-url'), { method: 'POST' })).status).toBe(400)
    expect((await request(daemon.adminUrl('/cache/purge?url=https%3A%2F%2Fa%2Fb'), { method: 'POST' })).status).toBe(400)
  })

  it('metrics: results per upstream, bytes and entries of the store; hits are recorded with server=""', async () => {
    const text = await scrape(daemon.adminUrl())
    for (const result of ['hit', 'miss', 'bypass']) expect(seriesValue(text, 'switchyard_cache_requests_total', { upstream: 'app', result })).toBeGreaterThan(0)
    expect(seriesValue(text, 'switchyard_cache_requests_total', { upstream: 'app', result: 'stale' })).toBe(1) // the stale-if-error test's
    expect(seriesValue(text, 'switchyard_cache_entries', { cache: 'pages' })).toBeGreaterThan(0)
    expect(seriesValue(text, 'switchyard_cache_size_bytes', { cache: 'pages' })).toBeGreaterThan(0)
    expect(seriesValue(text, 'switchyard_cache_store_up', { cache: 'pages' })).toBe(1)
    expect(seriesValue(text, 'switchyard_requests_total', { upstream: 'app', server: '', method: 'GET', code: '200' })).toBeGreaterThan(0)
  })
})
