// The access log's writer against a real FIFO: order, whole lines, a full pipe (EAGAIN)
// retried, and a stalled reader costing dropped lines (counted), never unbounded memory.
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, readSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LineWriter } from '../../src/shell/line-writer.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A FIFO opened read-write and non-blocking (so opening it does not wait for a reader). */
function fifo(): { fd: number; read(): string; close(): void } {
  const path = join(mkdtempSync(join(tmpdir(), 'switchyard-fifo-')), 'log')
  execFileSync('mkfifo', [path])
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK)
  const buf = Buffer.alloc(1 << 16)
  return {
    fd,
    read() {
      let out = ''
      for (;;) {
        try {
          const n = readSync(fd, buf, 0, buf.length, null)
          if (n <= 0) return out
          out += buf.toString('utf8', 0, n)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return out
          throw e
        }
      }
    },
    close: () => closeSync(fd),
  }
}

const line = (i: number): string => `{"n":${i},"pad":"${'x'.repeat(i % 300)}"}\n`

describe('LineWriter', () => {
  it('writes every line, whole and in order, through a full pipe (EAGAIN retried)', async () => {
    const f = fifo()
    try {
      const w = new LineWriter(f.fd, 4096, 20)
      const n = 5_000 // ~800 KiB: far more than a pipe holds, so writes meet EAGAIN
      for (let i = 0; i < n; i++) w.write(line(i))
      w.flush()
      let got = ''
      for (let i = 0; i < 500 && got.split('\n').length <= n; i++) {
        got += f.read()
        await sleep(5)
      }
      const lines = got.split('\n').filter(Boolean)
      expect(lines).toHaveLength(n)
      lines.forEach((l, i) => expect(JSON.parse(l)).toEqual({ n: i, pad: 'x'.repeat(i % 300) }))
    } finally {
      f.close()
    }
  })

  it('drops lines past its queue limit while the reader stalls, then says how many', async () => {
    const f = fifo()
    try {
      const w = new LineWriter(f.fd, 4096, 20, 16 * 1024)
      for (let i = 0; i < 5_000; i++) w.write(line(i)) // nobody reads: the pipe fills, the queue caps
      w.flush()
      await sleep(100)
      let got = ''
      for (let i = 0; i < 200; i++) {
        got += f.read()
        if (got.includes('dropped_lines')) break
        await sleep(10)
      }
      const lines = got.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { n?: number; dropped_lines?: number })
      const kept = lines.filter((l) => l.n !== undefined)
      const note = lines.find((l) => l.dropped_lines !== undefined)
      expect(note?.dropped_lines).toBe(5_000 - kept.length)
      expect(kept.length).toBeGreaterThan(100)
      expect(kept.map((l) => l.n)).toEqual([...kept.map((l) => l.n)].sort((a, b) => a! - b!)) // still in order
    } finally {
      f.close()
    }
  })
})
