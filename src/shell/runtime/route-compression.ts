// A route's `compress`, compiled once per config load (docs/policies.md#compression): the pure
// rules of core/policies/compression.ts, the zlib options of each algorithm at the route's level,
// the route's metric children, and the compressed forms of its cached responses. The request
// path asks it for an encoding and a zlib stream (request/compressor.ts runs the stream).
//
// zlib streams are reused: a gzip or zstd stream that finished a response cleanly is reset
// (deflateReset, ZSTD_CCtx_reset: its memory kept) and kept for the next one, up to POOL_SIZE
// idle per algorithm and level, shared by every route (and config) with that level. Making
// one costs more than compressing 10 KiB of JSON at gzip 1 (its state is ~260 KiB for gzip,
// ~850 KiB for zstd, allocated, zeroed and tracked as external memory each time): measured
// 2026-12-06, 10 KiB at gzip 4 on one core, 110 µs of CPU per response with a new stream, 85
// µs with a reused one. A brotli stream is not reused (Node's reset makes a new encoder
// anyway), nor a zstd one for a streamed body of known length (see stream()). Bodies of known
// length up to 64 KiB (gzip, zstd) are compressed whole, through a bounded set of streams of
// their own and a queue (runtime/whole-bodies.ts).
//
// Cached routes: a stored response is kept as the server sent it (one entry for every client);
// its compressed form in each encoding is made once, on the first hit that asks for it (on the
// thread pool: gzip and zstd through the whole-body streams, brotli with its one-shot
// function), and kept beside the entry in a WeakMap: it lives as long as the stored entry
// object, and a hit afterwards writes that Buffer as it is. A memory store keeps its entry
// objects, so each entry is compressed once per encoding; a Redis store makes a new object on
// each read, so there each hit compresses (not stored in Redis).
import zlib from 'node:zlib'
import type { IncomingMessage } from 'node:http'
import type { CompressConfig } from '../../config/policy-types.js'
import { compileCompression, compressible, negotiate, type CompressionRules, type Encoding } from '../../core/policies/compression.js'
import { headerMap } from '../../core/cache-rules.js'
import type { CachedResponse } from '../../core/cached-response.js'
import type { Metrics } from '../observe/metrics.js'
import { wholeBodies, type WholeBodies, type WholeEncoding } from './whole-bodies.js'

/** The flush that ends a response on a reused stream. */
export function finishFlush(encoding: Encoding): number {
  return encoding === 'gzip' ? zlib.constants.Z_FINISH : encoding === 'zstd' ? zlib.constants.ZSTD_e_end : zlib.constants.BROTLI_OPERATION_FINISH
}

type CounterChild = ReturnType<Metrics['compressionBytes']['labels']>

/** Idle zlib streams kept per algorithm (gzip, zstd) and level. */
export const POOL_SIZE = 8

export type CompressStream = zlib.Gzip | zlib.BrotliCompress | zlib.ZstdCompress

/** zstd streams made for one body of a known size: never reused. */
const sized = new WeakSet<CompressStream>()

/** "gzip:4" -> its idle streams, reset; shared by the routes with that algorithm and level, across reloads. */
const idleStreams = new Map<string, CompressStream[]>()

function idleOf(encoding: Encoding, level: number): CompressStream[] {
  const key = `${encoding}:${level}`
  let idle = idleStreams.get(key)
  if (idle === undefined) idleStreams.set(key, (idle = []))
  return idle
}

/** What a stored response becomes on this route: eligible or not (decided once), and its compressed bodies. */
export interface StoredForms {
  readonly eligible: boolean
  readonly bodies: Partial<Record<Encoding, Buffer | Promise<Buffer>>>
}

export class RouteCompression {
  readonly rules: CompressionRules
  readonly #levels: Readonly<Record<Encoding, number>>
  readonly #bytesIn: CounterChild
  readonly #bytesOut: CounterChild
  readonly #responses: Record<Encoding, CounterChild>
  readonly #stored = new WeakMap<CachedResponse, StoredForms>()
  /** Reset streams of the route's gzip and zstd levels, waiting for their next response (shared). */
  readonly #idle: { readonly gzip: CompressStream[]; readonly zstd: CompressStream[] }
  /** Whole bodies at the route's gzip and zstd levels (runtime/whole-bodies.ts: bounded streams and a queue). */
  readonly #whole: Readonly<Record<WholeEncoding, WholeBodies>>

  constructor(config: CompressConfig, route: string, metrics: Metrics) {
    this.rules = compileCompression(config)
    this.#levels = config.levels
    this.#idle = { gzip: idleOf('gzip', config.levels.gzip), zstd: idleOf('zstd', config.levels.zstd) }
    this.#whole = { gzip: wholeBodies('gzip', config.levels.gzip), zstd: wholeBodies('zstd', config.levels.zstd) }
    this.#bytesIn = metrics.compressionBytes.labels(route, 'in')
    this.#bytesOut = metrics.compressionBytes.labels(route, 'out')
    this.#bytesIn.inc(0)
    this.#bytesOut.inc(0)
    const child = (e: Encoding): CounterChild => {
      const c = metrics.compressedResponses.labels(route, e)
      if (config.algorithms.includes(e)) c.inc(0)
      return c
    }
    this.#responses = { zstd: child('zstd'), br: child('br'), gzip: child('gzip') }
  }

  /** The encoding this request's client gets, or null. */
  negotiate(req: IncomingMessage): Encoding | null {
    const v = req.headers['accept-encoding']
    return negotiate(typeof v === 'string' ? v : v?.[0], this.rules.algorithms)
  }

  /**
   * A compressing stream at the route's level: an idle one reset for reuse (gzip, zstd), or a new
   * one; `length` (the body's, when known) lets brotli size its window to it. A reusable stream
   * is finished with flush(finishFlush(encoding)) instead of end(), then given back with release().
   */
  stream(encoding: Encoding, length: number): CompressStream {
    if (encoding === 'br') return zlib.createBrotliCompress(this.#options(encoding, length) as zlib.BrotliOptions)
    // zstd with a known length (past WHOLE_MAX, so streamed): a new stream told the size, its
    // tables sized to the body (never reused: the size is the stream's). A reused zstd stream starts each frame with its
    // full-size tables, which costs 4 to 5 times more once several streams take turns on a core
    // (measured 2026-12-06, 10 KiB at level 3: 90 µs alone, 375 to 470 µs with 8 to 50 at once;
    // in the daemon at c50, 1,340 µs of CPU per response against 270 µs with the size told).
    if (encoding === 'zstd' && length >= 0) {
      const z = zlib.createZstdCompress(this.#options(encoding, length) as zlib.ZstdOptions)
      sized.add(z)
      return z
    }
    const idle = this.#idle[encoding].pop()
    if (idle !== undefined) return idle
    return encoding === 'gzip' ? zlib.createGzip(this.#options(encoding, -1) as zlib.ZlibOptions) : zlib.createZstdCompress(this.#options(encoding, -1) as zlib.ZstdOptions)
  }

  /** The bounded streams and queue that compress whole gzip or zstd bodies at the route's level. */
  whole(encoding: WholeEncoding): WholeBodies {
    return this.#whole[encoding]
  }

  /** A stream that finished its response: reset and kept for the next one (up to POOL_SIZE), or dropped. */
  release(encoding: Encoding, stream: CompressStream): void {
    if (encoding === 'br' || sized.has(stream) || stream.destroyed || stream.writableEnded) {
      if (!stream.destroyed) stream.destroy()
      return
    }
    const idle = this.#idle[encoding]
    if (idle.length >= POOL_SIZE) {
      stream.destroy()
      return
    }
    ;(stream as unknown as { reset(): void }).reset()
    if (stream.isPaused()) stream.resume()
    idle.push(stream)
  }

  #options(encoding: Encoding, length: number): zlib.ZlibOptions | zlib.BrotliOptions | zlib.ZstdOptions {
    const level = this.#levels[encoding]
    const known = length >= 0 && Number.isSafeInteger(length)
    if (encoding === 'gzip') return { level }
    if (encoding === 'br') {
      const params: Record<number, number> = { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_LGWIN]: 20 }
      if (known) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = length
      return { params }
    }
    // zstd: a 1 MiB window at most (level 3 would take 2 MiB for a large body); no pledged size,
    // as the stream is reused for bodies of other sizes (a one-shot compression gives its own).
    const params = { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_windowLog]: 20 }
    return known ? { params, pledgedSrcSize: length } : { params }
  }

  /**
   * A whole body compressed at once, on the thread pool (a cached response's form): gzip and
   * zstd through the route's whole-body streams (with a Redis store every hit compresses, so a
   * new stream each time would cost more than the body), brotli with its one-shot function.
   */
  compressBuffer(encoding: Encoding, body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (encoding === 'br') {
        zlib.brotliCompress(body, this.#options('br', body.length) as zlib.BrotliOptions, (err, out) => (err === null ? resolve(out) : reject(err)))
        return
      }
      this.#whole[encoding].compress(body, (err, chunks, length) => (err === null ? resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, length)) : reject(err)))
    })
  }

  /** A response compressed: its bytes before and after, for the metrics. */
  counted(encoding: Encoding, bytesIn: number, bytesOut: number): void {
    this.#responses[encoding].inc()
    this.#bytesIn.inc(bytesIn)
    this.#bytesOut.inc(bytesOut)
  }

  /** The forms of a stored response on this route (eligibility read from its headers once). */
  storedForms(entry: CachedResponse): StoredForms {
    let forms = this.#stored.get(entry)
    if (forms === undefined) {
      forms = { eligible: compressible(this.rules, entry.status, headerMap(entry.headers)) && entry.body.length > 0, bodies: {} }
      this.#stored.set(entry, forms)
    }
    return forms
  }

  /** The stored response's body in `encoding`: a Buffer when made already, else a Promise of it (made once, shared). */
  storedBody(entry: CachedResponse, forms: StoredForms, encoding: Encoding): Buffer | Promise<Buffer> {
    const have = forms.bodies[encoding]
    if (have !== undefined) return have
    const made = this.compressBuffer(encoding, entry.body).then((out) => {
      forms.bodies[encoding] = out
      return out
    }, (err: unknown) => {
      delete forms.bodies[encoding] // the next hit tries again
      throw err
    })
    forms.bodies[encoding] = made
    return made
  }
}
