// Whole gzip bodies through a bounded set of reused streams (runtime/whole-gzip.ts): real zlib,
// many bodies at once. Each comes back as its own gzip member (never a byte of another body),
// no more streams are made than the thread pool has threads, and the queue empties.
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { WHOLE_STREAMS, WholeGzip } from '../../src/shell/runtime/whole-gzip.js'

/** A compressible body of `size` bytes that names its index on every line. */
function body(i: number, size: number): Buffer {
  const line = `{"body":${i},"text":"the same words again and again"}\n`
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size))
}

function compress(w: WholeGzip, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    w.compress(input, (err, chunks, length) => {
      if (err !== null) reject(err)
      else resolve(Buffer.concat(chunks, length))
    })
  })
}

describe('WholeGzip', () => {
  it('compresses 60 bodies at once through at most WHOLE_STREAMS streams, each its own', async () => {
    const w = new WholeGzip(1)
    // Sizes from empty to past one zlib output chunk (16 KiB), incompressible-ish included.
    const inputs = Array.from({ length: 60 }, (_, i) => (i % 7 === 6 ? Buffer.from(Array.from({ length: 40_000 }, (_, k) => (k * 2654435761 + i) % 251)) : body(i, (i * 997) % 65_536)))
    const pending = inputs.map((input) => compress(w, input))
    expect(w.streams).toBe(WHOLE_STREAMS)
    expect(w.waiting).toBe(60 - WHOLE_STREAMS)
    const outputs = await Promise.all(pending)
    outputs.forEach((out, i) => expect(gunzipSync(out).equals(inputs[i] as Buffer)).toBe(true))
    expect(w.streams).toBe(WHOLE_STREAMS)
    expect(w.waiting).toBe(0)
    // The streams were reset: the next body starts a fresh gzip member.
    const again = await compress(w, body(99, 10_240))
    expect(gunzipSync(again).equals(body(99, 10_240))).toBe(true)
  })

  it('never calls back synchronously', async () => {
    const w = new WholeGzip(6)
    let sync = true
    const order: number[] = []
    const done = Promise.all([0, 1, 2].map((i) => new Promise<void>((resolve) => w.compress(body(i, 1_000), () => {
      expect(sync).toBe(false)
      order.push(i)
      resolve()
    }))))
    sync = false
    await done
    expect(order.sort()).toEqual([0, 1, 2])
  })
})
