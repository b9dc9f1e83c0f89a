// Static routes (issue #7, item 6) through the real daemon: files from a temp directory,
// conditional requests, ranges, MIME types, precompressed siblings, Cache-Control,
// directories, and a table of path traversal attempts sent as raw request lines (so no
// client normalises them), none of which may return the secret's bytes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBackend, type Backend } from '../helpers/backends.js'
import { rawExchange, request, type Reply } from '../helpers/client.js'
import { startDaemon, type LogLine, type RunningDaemon } from '../helpers/daemon.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { closeAfterEach } from '../helpers/scope.js'

const SECRET = 'TOP-SECRET-BYTES'
const BIG = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251)) // 1000 known bytes

/**
 * <dir>/secret, <dir>/outside/secret.txt: what must never be served.
 * <dir>/root: the /static root (precompressed, Cache-Control, index off).
 * <dir>/site: the /site root (index.html, nothing else set).
 */
function makeTree(dir: string): { root: string; site: string } {
  const root = join(dir, 'root')
  const site = join(dir, 'site')
  const outside = join(dir, 'outside')
  for (const d of [root, site, outside, join(root, 'dir'), join(site, 'docs')]) mkdirSync(d, { recursive: true })
  writeFileSync(join(dir, 'secret'), SECRET)
  writeFileSync(join(outside, 'secret.txt'), SECRET)
  writeFileSync(join(root, 'a.txt'), 'hello static\n')
  writeFileSync(join(root, 'big.bin'), BIG)
  writeFileSync(join(root, 'page.html'), '<p>hi</p>\n')
  writeFileSync(join(root, 'data.unknownext'), 'x')
  writeFileSync(join(root, '.env'), SECRET)
  mkdirSync(join(root, '.well-known', 'acme-challenge'), { recursive: true })
  writeFileSync(join(root, '.well-known', 'acme-challenge', 'token1'), 'token1.key\n')
  writeFileSync(join(root, '.well-known', '.env'), SECRET)
  writeFileSync(join(root, 'dir', 'index.html'), 'dir index\n')
  // app.js has both siblings, style.css only .gz; the sibling bodies say which one was served.
  writeFileSync(join(root, 'app.js'), 'console.log("identity")\n')
  writeFileSync(join(root, 'app.js.br'), 'br variant')
  writeFileSync(join(root, 'app.js.gz'), 'gz variant')
  writeFileSync(join(root, 'style.css'), 'body { color: red }\n')
  writeFileSync(join(root, 'style.css.gz'), gzipSync('body { color: red }\n')) // a real one: the bytes pass as they are
  // Symlinks: one inside (fine), a file and a directory leading out, and a precompressed
  // sibling leading out (must be skipped, the identity file served instead).
  symlinkSync(join(root, 'a.txt'), join(root, 'alias.txt'))
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out.txt'))
  symlinkSync(outside, join(root, 'dir-out'))
  writeFileSync(join(root, 'leak.txt'), 'identity leak.txt\n')
  symlinkSync(join(outside, 'secret.txt'), join(root, 'leak.txt.gz'))
  execFileSync('mkfifo', [join(root, 'pipe.txt')]) // not a regular file: reading it would block
  writeFileSync(join(site, 'index.html'), '<h1>site</h1>\n')
  writeFileSync(join(site, 'docs', 'index.html'), '<h1>docs</h1>\n')
  return { root, site }
}

const get = (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> => request(url, { method, headers })

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0)
}

describe('static routes', () => {
  let dir: string
  let root: string
  let site: string
  let app: Backend
  let daemon: RunningDaemon

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-static-'))
    ;({ root, site } = makeTree(dir))
    app = await startBackend('app')
    daemon = await startDaemon(`
listeners: [{name: public, address: 127.0.0.1, port: 0}]
admin: {port: 0}
upstreams:
  app: {servers: [{url: "${app.url}"}]}
routes:
  - match: {path_prefix: /static}
    static:
      root: ${root}
      cache_control: "public, max-age=3600"
      precompressed: true
  - match: {path_prefix: /site}
    static: {root: ${site}, index: index.html}
  - upstream: app
`)
  })
  afterAll(async () => {
    await daemon.stop()
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves a file with its MIME type, length, ETag, Last-Modified and request id', async () => {
    const r = await get(daemon.url('/static/a.txt'))
    expect(r.status).toBe(200)
    expect(r.body).toBe('hello static\n')
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(r.headers['content-length']).toBe('13')
    expect(r.headers.etag).toMatch(/^(W\/)?"[^"]+"$/)
    expect(Date.parse(r.headers['last-modified'] ?? '')).not.toBeNaN()
    expect(r.headers['accept-ranges']).toBe('bytes')
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it.each([
    ['/static/page.html', 'text/html; charset=utf-8'],
    ['/static/style.css', 'text/css; charset=utf-8'],
    ['/static/app.js', 'text/javascript; charset=utf-8'],
    ['/static/big.bin', 'application/octet-stream'],
    ['/static/data.unknownext', 'application/octet-stream'],
    ['/static/alias.txt', 'text/plain; charset=utf-8'], // a symlink inside the root is fine
  ])('MIME type of %s: %s', async (path, type) => {
    const r = await get(daemon.url(path))
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe(type)
  })

  it('answers If-None-Match and If-Modified-Since with 304 and no body', async () => {
    const first = await get(daemon.url('/static/a.txt'))
    const etag = first.headers.etag as string
    const byTag = await get(daemon.url('/static/a.txt'), { 'if-none-match': etag })
    expect(byTag.status).toBe(304)
    expect(byTag.body).toBe('')
    expect(byTag.headers.etag).toBe(etag)
    expect(byTag.headers['cache-control']).toBe('public, max-age=3600')
    const byDate = await get(daemon.url('/static/a.txt'), { 'if-modified-since': first.headers['last-modified'] as string })
    expect(byDate.status).toBe(304)
    const stale = await get(daemon.url('/static/a.txt'), { 'if-none-match': '"not-this-one"' })
    expect(stale.status).toBe(200)
    expect(stale.body).toBe('hello static\n')
    const failed = await get(daemon.url('/static/a.txt'), { 'if-match': '"not-this-one"' })
    expect(failed.status).toBe(412)
  })

  it('answers a Range with 206 and exactly those bytes, an unsatisfiable one with 416', async () => {
    const raw = await rawExchange(daemon.port(), 'GET /static/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n')
    expect(statusOf(raw)).toBe(206)
    expect(raw).toMatch(/\r\nContent-Range: bytes 10-19\/1000\r\n/i)
    expect(raw).toMatch(/\r\nContent-Length: 10\r\n/i)
    expect(Buffer.from(raw.slice(raw.indexOf('\r\n\r\n') + 4), 'latin1')).toEqual(BIG.subarray(10, 20))
    const suffix = await get(daemon.url('/static/a.txt'), { range: 'bytes=-7' })
    expect(suffix.status).toBe(206)
    expect(suffix.body).toBe('static\n')
    const unsatisfiable = await get(daemon.url('/static/big.bin'), { range: 'bytes=5000-6000' })
    expect(unsatisfiable.status).toBe(416)
    expect(unsatisfiable.headers['content-range']).toBe('bytes */1000')
    expect(unsatisfiable.headers['x-request-id']).toBeDefined()
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    const raw = await rawExchange(daemon.port(), 'HEAD /static/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    expect(statusOf(raw)).toBe(200)
    expect(raw).toMatch(/\r\nContent-Length: 1000\r\n/i)
    expect(raw.endsWith('\r\n\r\n')).toBe(true)
  })

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PURGE'])('answers %s with 405 and Allow: GET, HEAD', async (method) => {
    const r = await get(daemon.url('/static/a.txt'), {}, method)
    expect(r.status).toBe(405)
    expect(r.headers.allow).toBe('GET, HEAD')
  })

  it('closes the connection after answering a request with a body (never read)', async () => {
    const raw = await rawExchange(daemon.port(), 'POST /static/a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello')
    expect(statusOf(raw)).toBe(405)
    expect(raw).toMatch(/\r\nConnection: close\r\n/i)
    const chunked = await rawExchange(daemon.port(), 'GET /static/a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    expect(statusOf(chunked)).toBe(200)
    expect(chunked).toMatch(/\r\nConnection: close\r\n/i)
  })

  describe('precompressed siblings', () => {
    it.each([
      ['br, gzip', 'br', 'br variant'],
      ['gzip, deflate, br', 'br', 'br variant'],
      ['gzip', 'gzip', 'gz variant'],
      ['gzip;q=1, br;q=0.5', 'gzip', 'gz variant'],
      ['br;q=0, gzip', 'gzip', 'gz variant'],
      ['x-gzip', 'gzip', 'gz variant'],
      ['*', 'br', 'br variant'],
      ['br;q=0, gzip;q=0', undefined, 'identity'],
      ['identity', undefined, 'identity'],
      ['', undefined, 'identity'],
      [undefined, undefined, 'identity'],
    ])('Accept-Encoding %j on app.js: Content-Encoding %s', async (accept, encoding, which) => {
      const r = await get(daemon.url('/static/app.js'), accept === undefined ? {} : { 'accept-encoding': accept })
      expect(r.status).toBe(200)
      expect(r.headers['content-encoding']).toBe(encoding)
      expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8') // the original's, never application/gzip
      expect(r.headers.vary).toBe('Accept-Encoding')
      expect(r.body).toContain(which) // the client does not decode: the body says which file was sent
    })

    it('falls back to the next accepted sibling, then to the file itself', async () => {
      const gz = await get(daemon.url('/static/style.css'), { 'accept-encoding': 'br, gzip' })
      expect(gz.headers['content-encoding']).toBe('gzip')
      expect(gz.headers['content-type']).toBe('text/css; charset=utf-8')
      const identity = await get(daemon.url('/static/style.css'), { 'accept-encoding': 'br' })
      expect(identity.headers['content-encoding']).toBeUndefined()
      expect(identity.body).toBe('body { color: red }\n')
    })

    it('gives each variant its own ETag, and a Range applies to the variant sent', async () => {
      const br = await get(daemon.url('/static/app.js'), { 'accept-encoding': 'br' })
      const plain = await get(daemon.url('/static/app.js'))
      expect(br.headers.etag).not.toBe(plain.headers.etag)
      const part = await get(daemon.url('/static/app.js'), { 'accept-encoding': 'br', range: 'bytes=0-1' })
      expect(part.status).toBe(206)
      expect(part.body).toBe('br')
      expect(part.headers['content-encoding']).toBe('br')
    })

    it('skips a sibling that is a symlink leading out of the root', async () => {
      const r = await get(daemon.url('/static/leak.txt'), { 'accept-encoding': 'gzip' })
      expect(r.status).toBe(200)
      expect(r.headers['content-encoding']).toBeUndefined()
      expect(r.body).toBe('identity leak.txt\n')
    })

    it('is off unless configured: no sibling, no Vary', async () => {
      const r = await get(daemon.url('/site/index.html'), { 'accept-encoding': 'gzip, br' })
      expect(r.headers['content-encoding']).toBeUndefined()
      expect(r.headers.vary).toBeUndefined()
    })
  })

  it('sends Cache-Control from the config, and none when it is not set', async () => {
    expect((await get(daemon.url('/static/a.txt'))).headers['cache-control']).toBe('public, max-age=3600')
    expect((await get(daemon.url('/site/index.html'))).headers['cache-control']).toBeUndefined()
  })

  describe('directories', () => {
    it.each(['/static/dir', '/static/dir/', '/static', '/static/', '/static/dir/?x=1'])('index off: %s is 404', async (path) => {
      const r = await get(daemon.url(path))
      expect(r.status).toBe(404)
      expect(r.body).toBe('not found\n')
    })

    it.each([
      ['/site/', '<h1>site</h1>\n'],
      ['/site/docs/', '<h1>docs</h1>\n'],
      ['/site/docs/?v=1', '<h1>docs</h1>\n'],
    ])('index on: %s serves its index.html', async (path, body) => {
      const r = await get(daemon.url(path))
      expect(r.status).toBe(200)
      expect(r.body).toBe(body)
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
    })

    it.each([
      ['/site', '/site/'],
      ['/site/docs', '/site/docs/'],
      ['/site/docs?v=1', '/site/docs/?v=1'],
    ])('index on: %s redirects to %s', async (path, location) => {
      const r = await get(daemon.url(path))
      expect(r.status).toBe(301)
      expect(r.headers.location).toBe(location)
    })

    it('index on: a directory without an index file is 404', async () => {
      mkdirSync(join(site, 'empty'), { recursive: true })
      expect((await get(daemon.url('/site/empty/'))).status).toBe(404)
    })
  })

  it('serves /.well-known/ (an ACME challenge) though it starts with a dot', async () => {
    const r = await get(daemon.url('/static/.well-known/acme-challenge/token1'))
    expect(r.status).toBe(200)
    expect(r.body).toBe('token1.key\n')
  })

  it('answers 404 for a missing file, a dotfile, a path through a file and a FIFO', async () => {
    for (const path of ['/static/nope.txt', '/static/.env', '/static/%2eenv', '/static/.well-known/.env', '/static/a.txt/x', '/static/pipe.txt']) {
      const r = await get(daemon.url(path))
      expect(r.status, path).toBe(404)
      expect(r.body, path).not.toContain(SECRET)
    }
  })

  // Each request line is sent as is: nothing on the way normalises the path.
  it.each([
    ['/static/../secret'],
    ['/static/%2e%2e/secret'],
    ['/static/%2E%2E/secret'],
    ['/static/..%2fsecret'],
    ['/static/%2e%2e%2fsecret'],
    ['/static/..\\secret'],
    ['/static/%5c..%5csecret'],
    ['/static/a%00.txt'],
    ['/static/dir/../../secret'],
    ['/static/./../secret'],
    ['/static//../secret'],
    ['/static/%252e%252e/secret'],
    ['/static/link-out.txt'], // a symlink inside the root to a file outside it
    ['/static/dir-out/secret.txt'], // a symlinked directory leading out
    ['/static/dir-out/'],
    ['/site/../root/../secret'],
  ])('traversal: GET %s is 400 or 404, never the secret', async (target) => {
    const raw = await rawExchange(daemon.port(), `GET ${target} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n`)
    expect([400, 404]).toContain(statusOf(raw))
    expect(raw).not.toContain(SECRET)
  })

  it('never reaches the upstream for a static path', async () => {
    const before = app.seen.length
    await rawExchange(daemon.port(), 'GET /static/../secret HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    await get(daemon.url('/static/nope'))
    expect(app.seen.length).toBe(before)
    // ...while the proxied route next to it still works.
    const proxied = await get(daemon.url('/other'))
    expect(proxied.status).toBe(200)
    expect(proxied.body).toBe('app')
  })

  it('refuses a WebSocket upgrade on a static route with 404', async () => {
    const raw = await rawExchange(daemon.port(), 'GET /static/a.txt HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    expect(statusOf(raw)).toBe(404)
  })

  it('counts requests under upstream="static", server=<root>, and writes an access log line', async () => {
    const labels = { upstream: 'static', server: root, method: 'GET' }
    const before = seriesValue(await scrape(daemon.adminUrl()), 'switchyard_requests_total', { ...labels, code: '200' }) ?? 0
    const ok = await get(daemon.url('/static/big.bin'))
    await get(daemon.url('/static/nope'))
    const text = await scrape(daemon.adminUrl())
    expect(seriesValue(text, 'switchyard_requests_total', { ...labels, code: '200' })).toBe(before + 1)
    expect(seriesValue(text, 'switchyard_requests_total', { ...labels, code: '404' })).toBeGreaterThanOrEqual(1)
    expect(seriesValue(text, 'switchyard_request_duration_seconds_count', { upstream: 'static', server: site })).toBeGreaterThanOrEqual(1)
    const line = await daemon.waitForLog((l) => l.request_id === ok.headers['x-request-id'])
    expect(line).toMatchObject({ kind: 'access', method: 'GET', path: '/static/big.bin', status: 200, upstream: 'static', server: root, bytes_out: 1000, retries: 0 })
  })
})

describe('static routes and reload', () => {
  const scope = closeAfterEach()

  it('a reload adds a static route, and one whose root is missing is refused with the old config kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-static-reload-'))
    scope.defer({ close: async () => rmSync(dir, { recursive: true, force: true }) })
    writeFileSync(join(dir, 'a.txt'), 'reloaded file\n')
    const app = await scope.backend('app')
    const base = `listeners: [{address: 127.0.0.1, port: 0}]\nadmin: {port: 0}\nupstreams:\n  app: {servers: [{url: "${app.url}"}]}\n`
    const d = await scope.daemon(base)
    expect((await get(d.url('/files/a.txt'))).body).toBe('app')

    const reload = async (yaml: string): Promise<LogLine> => {
      const before = d.logs.length
      writeFileSync(d.file, yaml)
      d.proc.kill('SIGHUP')
      return d.waitForLog((l) => d.logs.indexOf(l) >= before && (l.msg === 'config reloaded' || l.msg === 'reload refused: the running config stays'))
    }
    const routes = (root: string): string => `routes:\n  - match: {path_prefix: /files}\n    static: {root: ${root}}\n  - upstream: app\n`
    expect((await reload(base + routes(dir))).msg).toBe('config reloaded')
    const served = await get(d.url('/files/a.txt'))
    expect(served.status).toBe(200)
    expect(served.body).toBe('reloaded file\n')

    const refused = await reload(base + routes(join(dir, 'missing')))
    expect(refused.msg).toBe('reload refused: the running config stays')
    expect(refused.problems).toEqual([`routes.0.static.root: directory "${join(dir, 'missing')}" does not exist (line 7)`])
    expect((await get(d.url('/files/a.txt'))).body).toBe('reloaded file\n')
  })
})
