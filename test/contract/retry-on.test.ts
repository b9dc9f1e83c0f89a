// retry_on, the response_headers default and the retry budget (issue #16 item 9) through the
// real daemon. What an operator relies on: a request that timed out after its head was sent
// has most likely run on the app, so by default it is not sent again (the backend counts one
// hit), unless `response_timeout` is listed; a listed 502/503/504 is retried on another
// server, but never a 503 that asks to wait (Retry-After) and never a POST; the budget stops
// retries and counts what it stopped.
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { refusedPort } from '../helpers/backends.js'
import { request } from '../helpers/client.js'
import { oneUpstream } from '../helpers/config.js'
import { scrape, seriesValue } from '../helpers/metrics.js'

const { backend, daemon } = closeAfterEach()

/** `first` gets (nearly) every first attempt (weight 1000 against 1): the other sees only retries. */
const firstThen = (first: string, other: string, extra = ''): string => `
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams:
  app:
    servers: [{ url: "${first}", weight: 1000 }, { url: "${other}" }]
${extra.split('\n').map((l) => `    ${l}`).join('\n')}
`

/** A backend that never answers (the request ran; the app is slow). */
const hang = (): Promise<Awaited<ReturnType<typeof backend>>> => backend('hang', () => { /* never answers */ })

describe('retry_on', () => {
  it('a request timing out after its head was sent is not retried by default: one hit, 504', async () => {
    const slow = await hang()
    const good = await backend('good')
    const d = await daemon(oneUpstream([slow.url, good.url], 'timeouts: { response_headers: 300ms }'))
    const r = await request(d.url('/report'))
    expect(r.status).toBe(504)
    expect(slow.seen.length + good.seen.length).toBe(1)
    expect(slow.seen).toHaveLength(1) // round robin's first pick
    expect(await d.waitForLog((l) => l.msg === 'request')).toMatchObject({ status: 504, retries: 0, error: 'UND_ERR_HEADERS_TIMEOUT' })
  })

  it('with response_timeout listed it is retried on the other server', async () => {
    const slow = await hang()
    const good = await backend('good')
    const d = await daemon(oneUpstream([slow.url, good.url], 'timeouts: { response_headers: 300ms }\nretry_on: [connect_failure, reset_before_response, response_timeout]'))
    const r = await request(d.url('/report'))
    expect(r.status).toBe(200)
    expect(r.body).toBe('good')
    expect([slow.seen.length, good.seen.length]).toEqual([1, 1])
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_retries_total', { upstream: 'app', reason: 'response_timeout' })).toBe(1)
  })

  it('a 502 from the app goes to the client by default, and is retried on another server when listed', async () => {
    const bad = await backend('bad', (_req, res) => { res.writeHead(502); res.end('app says 502') })
    const good = await backend('good')
    const plain = await daemon(oneUpstream([bad.url, good.url]))
    const passed = await request(plain.url('/x'))
    expect([passed.status, passed.body]).toEqual([502, 'app says 502'])
    const d = await daemon(firstThen(bad.url, good.url, 'retry_on: [connect_failure, 502]'))
    const r = await request(d.url('/x'))
    expect([r.status, r.body]).toEqual([200, 'good'])
    expect(await d.waitForLog((l) => l.msg === 'request')).toMatchObject({ status: 200, retries: 1, server: `127.0.0.1:${good.port}` })
    expect(seriesValue(await scrape(d.adminUrl()), 'switchyard_retries_total', { upstream: 'app', reason: '502' })).toBe(1)
    // A POST reached the app: never repeated, whatever retry_on lists.
    const post = await request(d.url('/p'), { method: 'POST', body: 'once' })
    expect(post.status).toBe(502)
    expect(bad.seen.filter((s) => s.method === 'POST')).toHaveLength(1)
    expect(good.seen.filter((s) => s.method === 'POST')).toHaveLength(0)
  })

  it('a listed 503 is retried elsewhere, but not when its Retry-After asks the client to wait', async () => {
    const busy = await backend('busy', (req, res) => {
      res.writeHead(503, req.url === '/wait' ? { 'retry-after': '120' } : {})
      res.end('busy')
    })
    const good = await backend('good')
    const d = await daemon(firstThen(busy.url, good.url, 'retry_on: [503]'))
    const r = await request(d.url('/now'))
    expect([r.status, r.body]).toEqual([200, 'good'])
    const waited = await request(d.url('/wait'))
    expect([waited.status, waited.headers['retry-after']]).toEqual([503, '120'])
    expect(good.seen.map((s) => s.url)).toEqual(['/now'])
  })

  it('a listed status is never retried on the same server: a single server\'s 502 goes to the client', async () => {
    const bad = await backend('bad', (_req, res) => { res.writeHead(502); res.end('only one') })
    const d = await daemon(oneUpstream([bad.url], 'retry_on: [502]'))
    expect((await request(d.url('/x'))).status).toBe(502)
    expect(bad.seen).toHaveLength(1)
  })

  it('the retry budget stops retries and counts them: ratio 0, min_per_second 1 allows 10 in the 10 s window', async () => {
    const good = await backend('good')
    const d = await daemon(oneUpstream([`http://127.0.0.1:${await refusedPort()}`, good.url],
      'retries: 1\nretry_budget: { ratio: 0, min_per_second: 1 }\npassive_health: { consecutive_failures: 1000 }'))
    const statuses: number[] = []
    for (let i = 0; i < 24; i++) statuses.push((await request(d.url(`/${i}`))).status) // every other one starts at the refused server
    expect(statuses.filter((s) => s === 502)).toHaveLength(2)
    expect(good.seen).toHaveLength(22)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_retries_total', { upstream: 'app', reason: 'connect_failure' })).toBe(10)
    expect(seriesValue(text, 'switchyard_retry_budget_exhausted_total', { upstream: 'app' })).toBe(2)
  })
})
