// One response compressed on its way to the client (docs/policies.md#compression): the body
// goes server -> zlib stream -> client response, with backpressure at both steps, so memory
// stays at the zlib stream's buffers (16 KiB each side) plus its window, whatever the body's
// size. zlib works on the thread pool (async streams): the event loop never waits for it.
// - write() returns false when the compressor holds more than its high-water mark: the owner
//   pauses its server until resumeUpstream() (the compressor drained);
// - the compressed output goes to the client with res.write(); when the client is slow, the
//   zlib stream is paused (its output waits, then its input: the server pauses in turn);
// - end() flushes; the owner hears compressedEnd() once the last byte was written. A gzip or
//   zstd stream is not ended but flushed with its finish flag, and once its output is all
//   written it goes back to the route for the next response (runtime/route-compression.ts);
// - a zlib error cuts the client (compressedFailed); destroy() drops the stream at once (a
//   client that left, a server that failed): a stream cut mid-response is never reused.
// Listeners are module-level functions that find their Compressor through a symbol, as the
// Exchange's do.
import type { ServerResponse } from 'node:http'
import type { Transform } from 'node:stream'
import type { Encoding } from '../../core/policies/compression.js'
import { finishFlush, type CompressStream, type RouteCompression } from '../runtime/route-compression.js'
import type { WholeEncoding } from '../runtime/whole-bodies.js'

/** What a Compressor reports to (an Exchange, or a CachedExchange fed by a fill). */
export interface CompressorOwner {
  /** The compressor can take more input: the server may go on. */
  resumeUpstream(): void
  /** Every compressed byte was handed to the client response (not yet ended). */
  compressedEnd(): void
  /** zlib failed: the response cannot be completed. */
  compressedFailed(err: Error): void
}

const kCompressor = Symbol('switchyard.compressor')

/**
 * A body of known length up to this is collected and compressed in one operation at its end:
 * one trip to the thread pool instead of a write and a flush (and one per chunk), with a
 * stream whose default flush is the finish flag. Memory: at most this per response, as the
 * compressed stream's own buffers would hold.
 */
export const WHOLE_MAX = 64 * 1024
type Tagged = CompressStream & Transform & { [kCompressor]?: Compressor | undefined }
type TaggedResponse = ServerResponse & { [kCompressor]?: Compressor }

export class Compressor {
  readonly encoding: Encoding
  readonly #route: RouteCompression
  /** null while a small body is collected (see WHOLE_MAX). */
  #zlib: Tagged | null = null
  /** A body of known length up to WHOLE_MAX, collected: compressed in one operation at the end. */
  #collected: Buffer[] | null = null
  readonly #res: TaggedResponse
  readonly #owner: CompressorOwner
  bytesIn = 0
  bytesOut = 0
  #done = false
  /** Paused until the client drains. */
  #waiting = false
  /** A reusable stream's finish flush is done: complete once its output is all written. */
  #flushed = false

  /** `length`: the body's Content-Length, or -1. */
  constructor(route: RouteCompression, encoding: Encoding, length: number, res: ServerResponse, owner: CompressorOwner) {
    this.encoding = encoding
    this.#route = route
    this.#owner = owner
    this.#res = res
    // gzip and zstd (runtime/whole-bodies.ts). Not brotli: measured slower that way (its encoder
    // is new for each response anyway).
    if (length >= 0 && length <= WHOLE_MAX && encoding !== 'br') this.#collected = []
    else this.#attach(route.stream(encoding, length) as Tagged)
  }

  #attach(z: Tagged): void {
    z[kCompressor] = this
    z.on('data', onOutput)
    z.on('end', onOutputEnd)
    z.on('error', onZlibError)
    z.on('drain', onInputDrain)
    this.#zlib = z
  }

  /** A chunk of the server's body; false: hold the server until resumeUpstream(). */
  write(chunk: Buffer): boolean {
    if (this.#done) return true
    this.bytesIn += chunk.length
    if (this.#collected !== null) {
      this.#collected.push(chunk) // at most its Content-Length, WHOLE_MAX (undici keeps to the framing)
      return true
    }
    return (this.#zlib as Tagged).write(chunk)
  }

  /** The server's body is complete: flush the rest. */
  end(): void {
    if (this.#done) return
    const collected = this.#collected
    if (collected !== null) {
      // One operation on the thread pool: the whole body, with the finish flag.
      this.#collected = null
      const body = collected.length === 1 ? collected[0] as Buffer : Buffer.concat(collected, this.bytesIn)
      this.#route.whole(this.encoding as WholeEncoding).compress(body, (err, chunks) => this.#wholeCompressed(err, chunks))
      return
    }
    const z = this.#zlib as Tagged
    if (this.encoding === 'br') {
      z.end()
      return
    }
    z.flush(finishFlush(this.encoding), () => {
      this.#flushed = true
      this.#completeIfWritten()
    })
  }

  /** A whole gzip or zstd body came back from its queue (runtime/whole-bodies.ts): written, and done. */
  #wholeCompressed(err: Error | null, chunks: Buffer[]): void {
    if (this.#done) return // the client left meanwhile
    if (err !== null) {
      this.failed(err)
      return
    }
    // At most WHOLE_MAX or so: written at once, the socket's buffer takes the rest.
    for (const chunk of chunks) {
      this.bytesOut += chunk.length
      this.#res.write(chunk)
    }
    this.#finish()
    this.#owner.compressedEnd()
  }

  /** A reused stream is done when its finish flush ran and nothing waits in its output. */
  #completeIfWritten(): void {
    const z = this.#zlib as Tagged
    if (this.#done || !this.#flushed || z.readableLength > 0) return
    this.#finish()
    z.off('data', onOutput)
    z.off('end', onOutputEnd)
    z.off('error', onZlibError)
    z.off('drain', onInputDrain)
    z[kCompressor] = undefined
    this.#route.release(this.encoding, z)
    this.#owner.compressedEnd()
  }

  /** Drops the stream (the client left, or the response failed); nothing more is reported. */
  destroy(): void {
    if (this.#done) return
    this.#finish()
    this.#collected = null
    this.#zlib?.destroy()
  }

  #finish(): void {
    this.#done = true
    this.#res.off('drain', onClientDrain)
    this.#route.counted(this.encoding, this.bytesIn, this.bytesOut)
  }

  output(chunk: Buffer): void {
    if (this.#done) return
    this.bytesOut += chunk.length
    if (this.#res.write(chunk) || this.#waiting) {
      if (this.#flushed) this.#completeIfWritten()
      return
    }
    this.#waiting = true
    ;(this.#zlib as Tagged).pause()
    const res = this.#res
    res[kCompressor] = this
    res.once('drain', onClientDrain)
  }

  clientDrained(): void {
    this.#waiting = false
    if (this.#done) return
    ;(this.#zlib as Tagged).resume()
    if (this.#flushed) this.#completeIfWritten()
  }

  outputEnded(): void {
    if (this.#done) return
    this.#finish()
    this.#owner.compressedEnd()
  }

  failed(err: Error): void {
    if (this.#done) return
    this.#finish()
    this.#owner.compressedFailed(err)
  }

  inputDrained(): void {
    if (!this.#done) this.#owner.resumeUpstream()
  }
}

function onOutput(this: Tagged, chunk: Buffer): void {
  this[kCompressor]?.output(chunk)
}

function onOutputEnd(this: Tagged): void {
  this[kCompressor]?.outputEnded()
}

function onZlibError(this: Tagged, err: Error): void {
  this[kCompressor]?.failed(err)
}

function onInputDrain(this: Tagged): void {
  this[kCompressor]?.inputDrained()
}

function onClientDrain(this: TaggedResponse): void {
  this[kCompressor]?.clientDrained()
}
