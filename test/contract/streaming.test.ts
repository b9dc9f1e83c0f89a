// docs/proxying.md: bodies stream both ways with backpressure (memory does not grow
// with body size); a client that goes away cancels its upstream request; a failure after
// the response head cuts the client connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { startBackend, type Backend } from '../helpers/backends.js'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { oneUpstream } from '../helpers/config.js'
import { sleep } from '../helpers/client.js'

const GiB = 1024 ** 3
const CHUNK = 256 * 1024
// A fixed, non-repeating-looking pattern: the checksum catches reordering or loss.
const PATTERN = createHash('sha512').update('switchyard').digest()
const BLOCK = Buffer.alloc(CHUNK, 0).map((_, i) => PATTERN[i % PATTERN.length]! ^ (i >> 9))

/** Peak resident memory of a process (VmHWM), in MiB. */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1]) / 1024
}

/** Writes `total` bytes to `out` honouring backpressure; resolves with their sha256. */
function pump(out: NodeJS.WritableStream, total: number, end = true): Promise<string> {
  const hash = createHash('sha256')
  let sent = 0
  return new Promise((resolve, reject) => {
    out.on('error', reject)
    const write = (): void => {
      while (sent < total) {
        const n = Math.min(CHUNK, total - sent)
        const chunk = n === CHUNK ? BLOCK : BLOCK.subarray(0, n)
        hash.update(chunk)
        sent += n
        if (!out.write(chunk)) {
          out.once('drain', write)
          return
        }
      }
      if (end) out.end()
      resolve(hash.digest('hex'))
    }
    write()
  })
}

describe('streaming', () => {
  let backend: Backend
  let daemon: RunningDaemon
  const events: string[] = []

  beforeAll(async () => {
    backend = await startBackend('stream', (req, res) => {
      if (req.url === '/upload') {
        const hash = createHash('sha256')
        let n = 0
        req.on('data', (c: Buffer) => { hash.update(c); n += c.length })
        req.on('end', () => res.end(JSON.stringify({ bytes: n, sha256: hash.digest('hex') })))
      } else if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GiB) })
        void pump(res, GiB).then((sha) => events.push(`download-sha ${sha}`))
      } else if (req.url === '/hang') {
        // Head and a first chunk, then nothing: the client will leave.
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('partial')
        res.on('close', () => events.push('hang closed'))
      } else if (req.url === '/slow-head') {
        res.on('close', () => events.push('slow-head closed'))
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '1000' })
        res.write('x'.repeat(100))
        setTimeout(() => res.socket?.destroy(), 50)
      }
    })
    daemon = await startDaemon(oneUpstream([backend.url], '', 'log: { access_log: false }'))
  })
  afterAll(async () => {
    await daemon.stop()
    await backend.close()
  })

  it('streams a 1 GiB upload in bounded memory, checksum intact', async () => {
    let sent!: Promise<string>
    const reply = new Promise<string>((resolve, reject) => {
      const req = http.request(daemon.url('/upload'), { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => resolve(body))
      })
      req.on('error', reject)
      sent = pump(req, GiB)
    })
    const got = JSON.parse(await reply) as { bytes: number; sha256: string }
    expect(got.bytes).toBe(GiB)
    expect(got.sha256).toBe(await sent)
    expect(peakMiB(daemon.proc.pid!)).toBeLessThan(200)
  }, 120_000)

  it('streams a 1 GiB download in bounded memory, checksum intact', async () => {
    const got = await new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      http.get(daemon.url('/download'), { agent: false }, (res) => {
        const hash = createHash('sha256')
        let n = 0
        res.on('data', (c: Buffer) => { hash.update(c); n += c.length })
        res.on('end', () => resolve({ bytes: n, sha256: hash.digest('hex') }))
        res.on('error', reject)
      }).on('error', reject)
    })
    expect(got.bytes).toBe(GiB)
    const sent = events.find((e) => e.startsWith('download-sha '))
    expect(sent).toBe(`download-sha ${got.sha256}`)
    expect(peakMiB(daemon.proc.pid!)).toBeLessThan(200)
  }, 120_000)

  it('holds a slow reader with backpressure instead of buffering', async () => {
    // The client reads 1 MiB then stops for a while: the daemon must not pull the rest.
    const before = peakMiB(daemon.proc.pid!)
    await new Promise<void>((resolve, reject) => {
      http.get(daemon.url('/download'), { agent: false }, (res) => {
        let n = 0
        res.on('data', (c: Buffer) => {
          n += c.length
          if (n > 1024 * 1024 && !res.isPaused()) {
            res.pause()
            setTimeout(() => { res.destroy(); resolve() }, 1500)
          }
        })
        res.on('error', () => {})
      }).on('error', reject)
    })
    expect(peakMiB(daemon.proc.pid!) - before).toBeLessThan(64)
  }, 30_000)

  it('cancels the upstream request when the client goes away mid-response', async () => {
    await new Promise<void>((resolve, reject) => {
      http.get(daemon.url('/hang'), { agent: false }, (res) => {
        res.once('data', () => { res.destroy(); resolve() })
      }).on('error', reject)
    })
    for (let i = 0; i < 50 && !events.includes('hang closed'); i++) await sleep(20)
    expect(events).toContain('hang closed')
  })

  it('cancels the upstream request when the client goes away before the response head', async () => {
    const req = http.get(daemon.url('/slow-head'), { agent: false })
    req.on('error', () => {})
    for (let i = 0; i < 50 && !backend.seen.some((s) => s.url === '/slow-head'); i++) await sleep(20)
    req.destroy()
    for (let i = 0; i < 50 && !events.includes('slow-head closed'); i++) await sleep(20)
    expect(events).toContain('slow-head closed')
  })

  it('cuts the client connection when the server fails after the head', async () => {
    const outcome = await new Promise<string>((resolve) => {
      http.get(daemon.url('/cut'), { agent: false }, (res) => {
        let n = 0
        res.on('data', (c: Buffer) => { n += c.length })
        res.on('end', () => resolve(`complete ${n}`))
        res.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message} after ${n}`))
        res.on('aborted', () => resolve(`aborted after ${n}`))
      }).on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`))
    })
    expect(outcome).not.toMatch(/^complete/)
  })
})

