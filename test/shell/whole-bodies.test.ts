// Whole gzip and zstd bodies through a bounded set of reused streams (runtime/whole-bodies.ts):
// real zlib, many bodies at once. Each comes back as its own gzip member or zstd frame (never a
// byte of another body), no more streams are made than the thread pool has threads, and the
// queue empties.
import { gunzipSync, zstdDecompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { WHOLE_STREAMS, WholeBodies, type WholeEncoding } from '../../src/shell/runtime/whole-bodies.js'

const decode: Record<WholeEncoding, (b: Buffer) => Buffer> = { gzip: gunzipSync, zstd: zstdDecompressSync }

/** A compressible body of `size` bytes that names its index on every line. */
function body(i: number, size: number): Buffer {
  const line = `{"body":${i},"text":"the same words again and again"}\n`
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size))
}

function compress(w: WholeBodies, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    w.compress(input, (err, chunks, length) => {
      if (err !== null) reject(err)
      else resolve(Buffer.concat(chunks, length))
    })
  })
}

describe.each(['gzip', 'zstd'] as const)('WholeBodies %s', (encoding) => {
  it('compresses 60 bodies at once through at most WHOLE_STREAMS streams, each its own', async () => {
    const w = new WholeBodies(encoding, encoding === 'gzip' ? 1 : 3)
    // Sizes from empty to past one zlib output chunk (16 KiB), incompressible-ish included.
    const inputs = Array.from({ length: 60 }, (_, i) => (i % 7 === 6 ? Buffer.from(Array.from({ length: 40_000 }, (_, k) => (k * 2654435761 + i) % 251)) : body(i, (i * 997) % 65_536)))
    const pending = inputs.map((input) => compress(w, input))
    expect(w.streams).toBe(WHOLE_STREAMS)
    expect(w.waiting).toBe(60 - WHOLE_STREAMS)
    const outputs = await Promise.all(pending)
    outputs.forEach((out, i) => expect(decode[encoding](out).equals(inputs[i] as Buffer)).toBe(true))
    expect(w.streams).toBe(WHOLE_STREAMS)
    expect(w.waiting).toBe(0)
    // The streams were reset: the next body starts a fresh gzip member or zstd frame.
    const again = await compress(w, body(99, 10_240))
    expect(decode[encoding](again).equals(body(99, 10_240))).toBe(true)
  })

  it('never calls back synchronously', async () => {
    const w = new WholeBodies(encoding, 6)
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

/** The content size a zstd frame header declares (RFC 8878 3.1.1.1), or null when it has none. */
function zstdContentSize(frame: Buffer): number | null {
  const fhd = frame[4] as number
  const singleSegment = (fhd >> 5) & 1
  const fcsFlag = fhd >> 6
  const size = [singleSegment, 2, 4, 8][fcsFlag] as number
  if (size === 0) return null
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!
  if (size === 1) return frame[at] as number
  if (size === 2) return frame.readUInt16LE(at) + 256
  if (size === 4) return frame.readUInt32LE(at)
  return Number(frame.readBigUInt64LE(at))
}

describe('WholeBodies zstd frames', () => {
  it('declare their content size, as a stream told the size would: tables and the client window fit the body', async () => {
    const w = new WholeBodies('zstd', 3)
    for (const size of [200, 10_240, 65_536]) {
      const frame = await compress(w, body(size, size))
      expect(frame.readUInt32LE(0)).toBe(0xfd2fb528) // zstd magic
      expect(zstdContentSize(frame)).toBe(size)
    }
  })
})
