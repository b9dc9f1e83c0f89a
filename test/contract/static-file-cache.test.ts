// The static routes' open-file cache (issue #20, item 3) through the real daemon: a small
// file is answered from memory with the very headers `send` gives it (a route with
// `file_cache: false` on the same directory is the reference), a file removed or replaced is
// served at most `valid` after the change, a large file still streams, Range and
// preconditions still go to send, and precompressed siblings come from memory too.
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request, type Reply } from '../helpers/client.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'

const VALID_MS = 1000
const get = (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> => request(url, { method, headers })

/** Requests `url` until `done(reply)` or `limitMs` passes; returns the last reply and when it came (ms after `since`). */
async function until(url: string, done: (r: Reply) => boolean, since: number, limitMs: number): Promise<{ reply: Reply; at: number }> {
  for (;;) {
    const reply = await get(url)
    const at = performance.now() - since
    if (done(reply) || at > limitMs) return { reply, at }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('static file cache', () => {
  let dir: string
  let daemon: RunningDaemon
  const BIG = Buffer.alloc(300 * 1024, 7) // over max_file_size: streamed

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-file-cache-'))
    writeFileSync(join(dir, 'a.txt'), 'first version\n')
    writeFileSync(join(dir, 'gone.txt'), 'about to go\n')
    writeFileSync(join(dir, 'swap.txt'), 'before swap\n')
    writeFileSync(join(dir, 'app.js'), 'console.log("identity")\n')
    writeFileSync(join(dir, 'app.js.br'), 'br variant')
    writeFileSync(join(dir, 'big.bin'), BIG)
    daemon = await startDaemon(`
listeners: [{address: 127.0.0.1, port: 0}]
admin: {port: 0}
upstreams: {app: {servers: [{url: "http://127.0.0.1:9"}]}}
routes:
  - match: {path_prefix: /mem}
    static:
      root: ${dir}
      cache_control: "public, max-age=60"
      precompressed: true
      file_cache: { max_file_size: 256k, valid: ${VALID_MS}ms }
  - match: {path_prefix: /disk}
    static:
      root: ${dir}
      cache_control: "public, max-age=60"
      precompressed: true
      file_cache: false
`)
  })
  afterAll(async () => {
    await daemon.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers from memory with the headers send gives the same file: 200, HEAD and 304', async () => {
    for (const [method, headers] of [['GET', {}], ['HEAD', {}], ['GET', { 'accept-encoding': 'br' }]] as const) {
      const mem = await get(daemon.url('/mem/app.js'), headers, method)
      const disk = await get(daemon.url('/disk/app.js'), headers, method)
      expect(mem.status).toBe(200)
      expect(mem.body).toBe(disk.body)
      for (const h of ['etag', 'last-modified', 'content-type', 'content-length', 'content-encoding', 'accept-ranges', 'cache-control', 'vary']) {
        expect([method, h, mem.headers[h]]).toEqual([method, h, disk.headers[h]])
      }
    }
    const etag = (await get(daemon.url('/mem/a.txt'))).headers.etag as string
    const notModified = await get(daemon.url('/mem/a.txt'), { 'if-none-match': etag })
    const reference = await get(daemon.url('/disk/a.txt'), { 'if-none-match': etag })
    expect([notModified.status, reference.status]).toEqual([304, 304])
    expect(notModified.body).toBe('')
    expect(notModified.headers['content-length']).toBeUndefined()
    expect(notModified.headers.etag).toBe(etag)
    expect(notModified.headers['cache-control']).toBe(reference.headers['cache-control'])
    // A request no-cache wants the bytes, as send decides it.
    expect((await get(daemon.url('/mem/a.txt'), { 'if-none-match': etag, 'cache-control': 'no-cache' })).status).toBe(200)
  })

  it('leaves Range and preconditions to send: 206, 412', async () => {
    await get(daemon.url('/mem/a.txt')) // in memory now
    const range = await get(daemon.url('/mem/a.txt'), { range: 'bytes=0-4' })
    expect(range.status).toBe(206)
    expect(range.body).toBe('first')
    expect((await get(daemon.url('/mem/a.txt'), { 'if-match': '"other"' })).status).toBe(412)
  })

  it('serves a removed file from memory for at most `valid`, then 404', async () => {
    const url = daemon.url('/mem/gone.txt')
    expect((await get(url)).body).toBe('about to go\n')
    const removed = performance.now()
    unlinkSync(join(dir, 'gone.txt'))
    // No file system call on a hit: the bytes are still served right after the unlink...
    expect((await get(url)).status).toBe(200)
    // ...until the next check, due `valid` after the last one.
    const { reply, at } = await until(url, (r) => r.status === 404, removed, 5 * VALID_MS)
    expect(reply.status).toBe(404)
    expect(at).toBeLessThan(VALID_MS + 1500)
    expect((await get(daemon.url('/disk/gone.txt'))).status).toBe(404)
  })

  it('sees a file replaced by rename (a deploy) within `valid`, with a new ETag', async () => {
    const url = daemon.url('/mem/swap.txt')
    const before = await get(url)
    expect(before.body).toBe('before swap\n')
    writeFileSync(join(dir, 'swap.txt.new'), 'after the swap, longer\n')
    const swapped = performance.now()
    renameSync(join(dir, 'swap.txt.new'), join(dir, 'swap.txt'))
    const { reply, at } = await until(url, (r) => r.body !== 'before swap\n', swapped, 5 * VALID_MS)
    expect(reply.body).toBe('after the swap, longer\n')
    expect(reply.headers.etag).not.toBe(before.headers.etag)
    expect(reply.headers['content-length']).toBe('23')
    expect(at).toBeLessThan(VALID_MS + 1500)
  })

  it('streams a file over max_file_size, byte for byte, with send\'s headers', async () => {
    const mem = await get(daemon.url('/mem/big.bin'))
    expect(mem.status).toBe(200)
    expect(mem.body === BIG.toString()).toBe(true) // 300 KiB of byte 7: one comparison, not a diff

    const disk = await get(daemon.url('/disk/big.bin'))
    expect(mem.headers.etag).toBe(disk.headers.etag)
    expect(mem.headers['content-length']).toBe(String(BIG.length))
  })
})
