// The log's writer against a real FIFO (libuv's stream: order, whole lines, a full pipe
// waited for, a stalled reader costing dropped lines, counted, never unbounded memory, and
// drain() before exit) and a regular file (written on the spot).
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LineWriter } from '../../src/shell/observe/line-writer.js'

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

  it('drain() waits for what a full pipe still holds, until the reader takes it', async () => {
    const f = fifo()
    try {
      const w = new LineWriter(f.fd, 4096, 10_000)
      const n = 2_000 // ~340 KiB: the pipe fills, the rest waits in the writer and libuv
      for (let i = 0; i < n; i++) w.write(line(i))
      let got = ''
      const reader = setInterval(() => { got += f.read() }, 5)
      await w.drain(5_000)
      clearInterval(reader)
      got += f.read()
      const lines = got.split('\n').filter(Boolean)
      expect(lines).toHaveLength(n)
      expect(JSON.parse(lines.at(-1)!)).toEqual({ n: n - 1, pad: 'x'.repeat((n - 1) % 300) })
    } finally {
      f.close()
    }
  })

  it('writes to a regular file on the spot, whole lines in order', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-log-')), 'out')
    const fd = openSync(file, 'w')
    try {
      const w = new LineWriter(fd, 4096, 10_000)
      for (let i = 0; i < 1_000; i++) w.write(line(i))
      w.flush() // no await: nothing waits on a thread pool
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
      expect(lines).toHaveLength(1_000)
      lines.forEach((l, i) => expect(JSON.parse(l)).toEqual({ n: i, pad: 'x'.repeat(i % 300) }))
    } finally {
      closeSync(fd)
    }
  })

  it('keeps a line longer than a buffer whole and in order between the others', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-log-')), 'out')
    const fd = openSync(file, 'w')
    try {
      const w = new LineWriter(fd, 4096, 10_000)
      w.write(line(1))
      w.write(`{"big":"${'y'.repeat(10_000)}"}\n`)
      w.write(line(2))
      w.flush()
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { n?: number; big?: string })
      expect(lines.map((l) => l.n ?? l.big?.length)).toEqual([1, 10_000, 2])
    } finally {
      closeSync(fd)
    }
  })
})
