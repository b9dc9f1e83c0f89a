// The Spool (src/shell/request/spool.ts) on real files in a temp directory of its own: memory
// first, then one 0600 temp file; the whole body read again from its start (a retry);
// backpressure past the high-water mark; the limit; rewind; close() unlinks whatever the
// state (idle, writes in flight, never opened); a directory that is gone is an error, not a throw.
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Spool } from '../../src/shell/request/spool.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'switchyard-spool-unit-'))
  dirs.push(d)
  return d
}

/** Bytes 0..n-1 of a pattern that shows a reordered or lost piece. */
const bytes = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i + seed) % 251))

async function drain(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body
  const chunks: Buffer[] = []
  for await (const c of body) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Reads [0, length) with read(), the way the response feeder does. */
async function readAll(spool: Spool, from = 0): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let p = from; p < spool.length;) {
    const r = spool.read(p)
    const piece = r instanceof Promise ? await r : r
    parts.push(piece)
    p += piece.length
  }
  return Buffer.concat(parts)
}

describe('Spool', () => {
  it('keeps a body within `memory` in memory: no file is made', async () => {
    const dir = tempDir()
    const spool = new Spool({ memory: 1024, dir })
    expect(spool.write(bytes(600))).toBe(true)
    expect(spool.write(bytes(424, 600))).toBe(true)
    await spool.flushed()
    expect(spool.usesFile).toBe(false)
    expect(readdirSync(dir)).toEqual([])
    const body = spool.body()
    expect(Buffer.isBuffer(body)).toBe(true)
    expect((await drain(body)).equals(bytes(1024))).toBe(true)
    await spool.close()
  })

  it('puts the rest in one 0600 temp file and reads the whole body again from its start, twice', async () => {
    const dir = tempDir()
    const spool = new Spool({ memory: 1000, dir })
    const all = bytes(300_000)
    for (let p = 0; p < all.length; p += 7_000) spool.write(all.subarray(p, p + 7_000))
    await spool.flushed()
    const names = readdirSync(dir)
    expect(names).toHaveLength(1)
    expect(names[0]).toMatch(/^switchyard-[0-9a-f]{24}\.tmp$/)
    expect(statSync(join(dir, names[0] as string)).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, names[0] as string)).size).toBe(all.length) // the first chunk did not fit in memory: all of it is in the file
    expect((await drain(spool.body())).equals(all)).toBe(true)
    expect((await drain(spool.body())).equals(all)).toBe(true)
    expect((await readAll(spool)).equals(all)).toBe(true)
    await spool.close()
    expect(readdirSync(dir)).toEqual([])
  })

  it('a body larger than memory: memory first, the file after it', async () => {
    const dir = tempDir()
    const spool = new Spool({ memory: 4096, dir })
    const all = bytes(20_000, 3)
    for (let p = 0; p < all.length; p += 1000) spool.write(all.subarray(p, p + 1000))
    await spool.flushed()
    expect(statSync(join(dir, readdirSync(dir)[0] as string)).size).toBe(20_000 - 4000)
    expect((await readAll(spool, 2500)).equals(all.subarray(2500))).toBe(true)
    await spool.close()
  })

  it('asks the writer to wait past the high-water mark, and calls onDrain once the disk has it', async () => {
    const dir = tempDir()
    let drained = 0
    const spool = new Spool({ memory: 0, dir, onDrain: () => { drained++ } })
    let accepted = 0
    while (spool.write(bytes(64 * 1024))) accepted++
    expect(accepted).toBeLessThan(10) // 256 KiB of high-water mark
    await spool.flushed()
    expect(drained).toBe(1)
    await spool.close()
  })

  it('reports full at its limit; rewind empties it for reuse once nothing is on its way to the disk', async () => {
    const dir = tempDir()
    const spool = new Spool({ memory: 100, dir, limit: 1000 })
    expect(spool.write(bytes(600))).toBe(true)
    expect(spool.write(bytes(600, 1))).toBe(false)
    expect(spool.full).toBe(true)
    expect(spool.rewind()).toBe(false) // bytes still on their way to the file
    await spool.flushed()
    expect((await readAll(spool)).equals(Buffer.concat([bytes(600), bytes(600, 1)]))).toBe(true)
    expect(spool.rewind()).toBe(true)
    expect(spool.length).toBe(0)
    expect(spool.full).toBe(false)
    spool.write(bytes(50, 9))
    spool.write(bytes(500, 8))
    await spool.flushed()
    expect((await readAll(spool)).equals(Buffer.concat([bytes(50, 9), bytes(500, 8)]))).toBe(true)
    expect(readdirSync(dir)).toHaveLength(1) // the same file, written again from its start
    await spool.close()
    expect(readdirSync(dir)).toEqual([])
  })

  it('close() while writes are in flight still unlinks the file; close() twice is fine', async () => {
    const dir = tempDir()
    const spool = new Spool({ memory: 0, dir })
    for (let i = 0; i < 20; i++) spool.write(bytes(64 * 1024, i))
    const first = spool.close()
    const second = spool.close()
    expect(second).toBe(first)
    await first
    expect(readdirSync(dir)).toEqual([])
    expect(spool.write(bytes(10))).toBe(false)
  })

  it('a temp_dir that is gone: onError, flushed() rejects, no throw', async () => {
    const dir = tempDir()
    rmSync(dir, { recursive: true })
    const errors: string[] = []
    const spool = new Spool({ memory: 10, dir, onError: (err) => errors.push((err as NodeJS.ErrnoException).code ?? '') })
    spool.write(bytes(100))
    await expect(spool.flushed()).rejects.toMatchObject({ code: 'ENOENT' })
    expect(errors).toEqual(['ENOENT'])
    expect(spool.write(bytes(10))).toBe(false)
    await spool.close()
  })
})
