// Compression of proxied responses (contract section 8, `compress`) against the real daemon:
// each algorithm decoded by node:zlib and by curl --compressed, q-values, what is never
// compressed (small, other types, already encoded, no-transform, 206), HEAD, the weak ETag, a
// 64 KiB and a 1,000-entry Accept-Encoding, a cached route (compressed once per encoding, the
// fill's clients compressed each), HTTP/2 clients, a client that leaves mid-stream, the
// metrics, and a 100 MiB response compressed with bounded memory.
import { execFile } from 'node:child_process'
import http from 'node:http'
import http2 from 'node:http2'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { closeAfterEach } from '../helpers/scope.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import type { RunningDaemon } from '../helpers/daemon.js'
import { needTool } from '../helpers/tools.js'
import { makePki, tlsListener } from '../helpers/pki.js'
import { peakAbove, pump, rssMiB } from '../helpers/memory.js'

const run = promisify(execFile)
const scope = closeAfterEach()

const JSON_BODY = Buffer.from(JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'], price: i * 1.5 }))))
const SMALL = Buffer.from('{"ok":true}')

interface Got { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(body)
  if (encoding === 'br') return zlib.brotliDecompressSync(body)
  if (encoding === 'zstd') return zlib.zstdDecompressSync(body)
  return body
}

function app(): ReturnType<typeof scope.backend> {
  return scope.backend('app', (req, res) => {
    const url = req.url ?? ''
    const json = { 'content-type': 'application/json; charset=utf-8' }
    if (url === '/json' || url.startsWith('/cached/')) {
      res.writeHead(200, { ...json, 'content-length': JSON_BODY.length, etag: '"v1"', 'accept-ranges': 'bytes', ...(url.startsWith('/cached/') ? { 'cache-control': 'public, max-age=60' } : {}) })
      res.end(JSON_BODY)
    } else if (url === '/chunked') {
      res.writeHead(200, json)
      res.write(JSON_BODY.subarray(0, 1000))
      setImmediate(() => res.end(JSON_BODY.subarray(1000)))
    } else if (url === '/small') {
      res.writeHead(200, { ...json, 'content-length': SMALL.length })
      res.end(SMALL)
    } else if (url === '/png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': JSON_BODY.length })
      res.end(JSON_BODY)
    } else if (url === '/gz') {
      const gz = zlib.gzipSync(JSON_BODY)
      res.writeHead(200, { ...json, 'content-encoding': 'gzip', 'content-length': gz.length })
      res.end(gz)
    } else if (url === '/nt') {
      res.writeHead(200, { ...json, 'cache-control': 'no-transform', 'content-length': JSON_BODY.length })
      res.end(JSON_BODY)
    } else if (url === '/range') {
      const part = JSON_BODY.subarray(0, 2000)
      res.writeHead(206, { ...json, 'content-range': `bytes 0-1999/${JSON_BODY.length}`, 'content-length': part.length })
      res.end(part)
    } else {
      res.writeHead(404)
      res.end()
    }
  }, { maxHeaderSize: 256 * 1024 }) // the 64 KiB Accept-Encoding reaches it too
}

async function daemonFor(url: string, extra = ''): Promise<RunningDaemon> {
  return scope.daemon(`
listeners: [{ address: 127.0.0.1, port: 0, max_header_size: 128k }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: "${url}" }] } }
caches: { pages: { store: memory } }
routes:
  - { name: api, match: { path_prefix: / }, upstream: app, compress: true }
  - { name: gz, match: { path_prefix: /only-gzip }, upstream: app, rewrite_prefix: /, compress: { algorithms: [gzip], level: { gzip: 1 } } }
  - { name: cached, match: { path_prefix: /cached }, upstream: app, cache: pages, compress: true }
${extra}`)
}

describe('compression', () => {
  it('each algorithm, q-values, identity, HEAD, and what is never compressed; metrics', async () => {
    const b = await app()
    const d = await daemonFor(b.url)
    for (const encoding of ['zstd', 'br', 'gzip']) {
      const r = await get(d.url('/json'), { 'accept-encoding': encoding })
      expect(r.status).toBe(200)
      expect(r.headers['content-encoding']).toBe(encoding)
      expect(r.headers['content-length']).toBeUndefined()
      expect(r.headers['accept-ranges']).toBeUndefined()
      expect(r.headers.vary).toBe('Accept-Encoding')
      expect(r.headers.etag).toBe('W/"v1"')
      expect(r.body.length).toBeLessThan(JSON_BODY.length / 3)
      expect(decode(encoding, r.body).equals(JSON_BODY)).toBe(true)
    }
    // Chrome's header: zstd; the route's order breaks ties; q-values win over it.
    expect((await get(d.url('/json'), { 'accept-encoding': 'gzip, deflate, br, zstd' })).headers['content-encoding']).toBe('zstd')
    expect((await get(d.url('/json'), { 'accept-encoding': 'gzip;q=1, br;q=0.5, zstd;q=0.1' })).headers['content-encoding']).toBe('gzip')
    expect((await get(d.url('/only-gzip/json'), { 'accept-encoding': 'zstd, br, gzip' })).headers['content-encoding']).toBe('gzip')
    // Unknown length: compressed too.
    const chunked = await get(d.url('/chunked'), { 'accept-encoding': 'br' })
    expect(chunked.headers['content-encoding']).toBe('br')
    expect(decode('br', chunked.body).equals(JSON_BODY)).toBe(true)

    // A client that accepts none: the body as is, with Vary (the response varies) and a strong ETag.
    for (const ae of [undefined, 'identity', 'br;q=0, gzip;q=0, zstd;q=0', 'deflate']) {
      const r = await get(d.url('/json'), ae === undefined ? {} : { 'accept-encoding': ae })
      expect(r.headers['content-encoding'], ae).toBeUndefined()
      expect(r.headers['content-length'], ae).toBe(String(JSON_BODY.length))
      expect(r.headers.vary, ae).toBe('Accept-Encoding')
      expect(r.headers.etag, ae).toBe('"v1"')
      expect(r.body.equals(JSON_BODY), ae).toBe(true)
    }

    // HEAD: the head a GET gets, without a body.
    const head = await get(d.url('/json'), { 'accept-encoding': 'gzip' }, 'HEAD')
    expect(head.headers['content-encoding']).toBe('gzip')
    expect(head.headers['content-length']).toBeUndefined()
    expect(head.headers.etag).toBe('W/"v1"')
    expect(head.body.length).toBe(0)

    // Never: small, not a listed type, already encoded, no-transform, 206.
    for (const [path, expected] of [['/small', SMALL], ['/png', JSON_BODY], ['/gz', zlib.gzipSync(JSON_BODY)], ['/nt', JSON_BODY], ['/range', JSON_BODY.subarray(0, 2000)]] as const) {
      const r = await get(d.url(path), { 'accept-encoding': 'gzip, br, zstd' })
      expect(r.headers['content-encoding'], path).toBe(path === '/gz' ? 'gzip' : undefined)
      expect(r.headers.vary, path).toBeUndefined()
      expect(r.headers['content-length'], path).toBe(String(expected.length))
      expect(r.body.equals(expected), path).toBe(true)
    }

    // 64 KiB and 1,000 entries of Accept-Encoding: read only up to the bound (gzip past it is not seen).
    const huge = await get(d.url('/json'), { 'accept-encoding': `${'x'.repeat(64 * 1024)}, gzip` })
    expect(huge.status).toBe(200)
    expect(huge.headers['content-encoding']).toBeUndefined()
    const many = await get(d.url('/json'), { 'accept-encoding': `${Array.from({ length: 1000 }, (_, i) => `e${i};q=0.5`).join(', ')}, gzip` })
    expect(many.status).toBe(200)
    expect(many.headers['content-encoding']).toBeUndefined()
    expect((await get(d.url('/json'), { 'accept-encoding': `gzip, ${'e;q=0.5, '.repeat(5000)}` })).headers['content-encoding']).toBe('gzip')

    const text = await scrape(d.adminUrl())
    const bytesIn = seriesValue(text, 'switchyard_compression_bytes_total', { route: 'api', direction: 'in' }) ?? 0
    const bytesOut = seriesValue(text, 'switchyard_compression_bytes_total', { route: 'api', direction: 'out' }) ?? 0
    expect(bytesIn).toBe(JSON_BODY.length * 7) // 3 algorithms, Chrome's, the q-values, the chunked one, the bounded gzip (not HEAD)
    expect(bytesOut).toBeGreaterThan(0)
    expect(bytesOut).toBeLessThan(bytesIn / 3)
    expect(seriesValue(text, 'switchyard_compressed_responses_total', { route: 'api', encoding: 'zstd' })).toBe(2)
    expect(seriesValue(text, 'switchyard_compressed_responses_total', { route: 'gz', encoding: 'gzip' })).toBe(1)

    // Streams are reused (gzip, zstd): responses at once, each on its own stream, each whole.
    const parallel = await Promise.all(Array.from({ length: 24 }, (_, i) => get(d.url(i % 2 === 0 ? '/json' : '/chunked'), { 'accept-encoding': ['zstd', 'gzip', 'br'][i % 3] as string })))
    for (const [i, r] of parallel.entries()) expect(decode(r.headers['content-encoding'], r.body).equals(JSON_BODY), String(i)).toBe(true)
  })

  it('curl --compressed decodes what it gets', async (ctx) => {
    needTool(ctx, 'curl', 'curl')
    const b = await app()
    const d = await daemonFor(b.url)
    for (const ae of ['zstd', 'br', 'gzip']) {
      const { stdout } = await run('curl', ['-sS', '--compressed', '-H', `Accept-Encoding: ${ae}`, '-w', '\n%header{content-encoding}', d.url('/json')], { encoding: 'buffer', maxBuffer: 1 << 20 })
      const text = stdout.toString()
      const cut = text.lastIndexOf('\n')
      expect(text.slice(cut + 1)).toBe(ae)
      expect(text.slice(0, cut)).toBe(JSON_BODY.toString())
    }
  })

  it('a cached route: stored once as sent, each encoding made once; the fill\'s clients are compressed each', async () => {
    const b = await app()
    const d = await daemonFor(b.url)
    const url = d.url('/cached/a')
    const miss = await get(url, { 'accept-encoding': 'gzip' })
    expect(miss.headers['x-cache']).toBe('MISS')
    expect(miss.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', miss.body).equals(JSON_BODY)).toBe(true)
    for (const encoding of ['zstd', 'br', 'gzip', 'zstd']) {
      const hit = await get(url, { 'accept-encoding': encoding })
      expect(hit.headers['x-cache']).toBe('HIT')
      expect(hit.headers['content-encoding']).toBe(encoding)
      expect(hit.headers['content-length']).toBe(String(hit.body.length)) // the stored form's length
      expect(hit.headers.etag).toBe('W/"v1"')
      expect(hit.headers.vary).toBe('Accept-Encoding')
      expect(decode(encoding, hit.body).equals(JSON_BODY)).toBe(true)
    }
    const plain = await get(url)
    expect(plain.headers['x-cache']).toBe('HIT')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers.vary).toBe('Accept-Encoding')
    expect(plain.body.equals(JSON_BODY)).toBe(true)
    const head = await get(url, { 'accept-encoding': 'br' }, 'HEAD')
    expect(head.headers['content-encoding']).toBe('br')
    expect(b.seen.filter((s) => s.url === '/cached/a').length).toBe(1)
    const text = await scrape(d.adminUrl())
    expect(seriesValue(text, 'switchyard_compressed_responses_total', { route: 'cached', encoding: 'zstd' })).toBe(2)
  })

  it('HTTP/2 clients (Node\'s compatibility API) get the same, plain and cached', async () => {
    const pki = makePki()
    scope.defer(pki)
    const cert = pki.issue('h2', ['default.test'])
    const b = await app()
    const d = await scope.daemon(`
listeners:
${tlsListener([cert])}
admin: { port: 0 }
upstreams: { app: { servers: [{ url: "${b.url}" }] } }
caches: { pages: { store: memory } }
routes:
  - { match: { path_prefix: / }, upstream: app, compress: true }
  - { match: { path_prefix: /cached }, upstream: app, cache: pages, compress: true }
`)
    const session = http2.connect(`https://127.0.0.1:${d.port()}`, { ca: pki.ca, servername: 'default.test' })
    scope.defer({ close: async () => { session.close() } })
    const h2get = (path: string, encoding: string): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }> => new Promise((resolve, reject) => {
      const stream = session.request({ ':path': path, 'accept-encoding': encoding })
      let headers: http2.IncomingHttpHeaders = {}
      const chunks: Buffer[] = []
      stream.on('response', (h) => { headers = h })
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.once('end', () => resolve({ headers, body: Buffer.concat(chunks) }))
      stream.once('error', reject)
    })
    for (const [path, encoding] of [['/json', 'zstd'], ['/chunked', 'gzip'], ['/cached/h2', 'br'], ['/cached/h2', 'br'], ['/cached/h2', 'gzip']] as const) {
      const r = await h2get(path, encoding)
      expect(r.headers['content-encoding'], path).toBe(encoding)
      expect(r.headers.vary, path).toBe('Accept-Encoding')
      expect(decode(encoding, r.body).equals(JSON_BODY), path).toBe(true)
    }
  })

  it('a client that leaves mid-stream: the server\'s response is cancelled, the daemon goes on', async () => {
    let serverClosed!: () => void
    const closed = new Promise<void>((resolve) => { serverClosed = resolve })
    const chunk = Buffer.from(`${JSON.stringify({ line: 'x'.repeat(200) })}\n`.repeat(200))
    const b = await scope.backend('endless', (req, res) => {
      if (req.url !== '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5000 })
        res.end('y'.repeat(5000))
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      const timer = setInterval(() => res.write(chunk), 5)
      res.on('close', () => {
        clearInterval(timer)
        serverClosed()
      })
    })
    const d = await scope.daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: "${b.url}" }] } }
routes: [{ upstream: app, compress: { types: [application/x-ndjson, text/plain] } }]
`)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(d.url('/endless'), { agent: false, headers: { 'accept-encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip')
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => undefined)
      setTimeout(() => reject(new Error('no compressed data arrived')), 5000).unref()
    })
    await closed
    const after = await get(d.url('/next'), { 'accept-encoding': 'gzip' })
    expect(after.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', after.body).toString()).toBe('y'.repeat(5000))
  })

  it('a 100 MiB response is compressed as it streams: peak RSS < idle + 16 MiB', async () => {
    const MiB = 1024 * 1024
    const SIZE = 100 * MiB
    const WARM = 8 * MiB
    // Not a repetition zstd folds into nothing: 4 MiB of base64 text (beyond its 1 MiB window),
    // which compresses to about 3/4 and keeps zstd busy: the server outruns it, and the client
    // reads what it gets. Sent in 64 KiB pieces of it.
    const text = randomBytes(3 * MiB).toString('base64')
    const pieces = Array.from({ length: 64 }, (_, i) => Buffer.from(text.slice(i * 65536, (i + 1) * 65536)))
    const b = await scope.backend('big', (req, res) => {
      const size = req.url === '/warm' ? WARM : SIZE
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': size })
      pump(res, size, (sent) => pieces[(sent / 65536) % pieces.length] as Buffer)
    })
    const d = await scope.daemon(`
listeners: [{ address: 127.0.0.1, port: 0 }]
admin: { port: 0 }
upstreams: { app: { servers: [{ url: "${b.url}" }] } }
routes: [{ upstream: app, compress: true }]
`)
    const pid = d.proc.pid as number
    // Warm up with an 8 MiB response: what is paid once (zstd's state, the thread pool's malloc
    // arenas, code) is in the idle size; what remains is what grows with the body.
    const warm = await get(d.url('/warm'), { 'accept-encoding': 'zstd' })
    expect(decode('zstd', warm.body).length).toBe(WARM)
    const idle = rssMiB(pid)
    const { peak, result: decoded } = await peakAbove(pid, idle, () => new Promise<number>((resolve, reject) => {
      http.get(d.url('/big'), { agent: false, headers: { 'accept-encoding': 'zstd' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('zstd')
        let n = 0
        const unzip = zlib.createZstdDecompress()
        unzip.on('data', (c: Buffer) => { n += c.length })
        unzip.on('end', () => resolve(n))
        unzip.on('error', reject)
        res.pipe(unzip)
      }).on('error', reject)
    }))
    expect(decoded).toBe(SIZE)
    console.log(`100 MiB compressed: idle ${idle.toFixed(0)} MiB (after an 8 MiB one), peak +${peak.toFixed(1)} MiB`)
    expect(peak).toBeLessThan(16)
  })
})
