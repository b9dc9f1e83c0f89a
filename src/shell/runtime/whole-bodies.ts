// gzip and zstd for whole bodies (a response of known length up to compressor.ts's
// WHOLE_MAX): each body is one write with the finish flag on a reused stream, and the streams
// of one algorithm and level are bounded: as many as the thread pool has threads
// (UV_THREADPOOL_SIZE, 4 by default), since no more than that can compress at once anyway. A
// body that finds every stream busy waits its turn in a FIFO queue. So a burst of responses
// never makes new streams: making one (~260 KiB of state for gzip, ~850 KiB for zstd,
// allocated, zeroed and tracked as external memory, then collected) cost more than
// compressing the body. Measured 2026-12-06, 10 KiB of JSON, 50 at once on one core: gzip 1,
// 150-160 µs of CPU per body with a new stream each (zlib.gzip), ~20 µs through 4 reused
// streams and this queue; zstd 3, 176-191 µs with a new stream told the body's size, 126 µs
// through 4 reused ones, the same output; in the daemon at c50, gzip 1 at the same CPU as with
// the 8 idle streams before and 52 MiB less peak RSS, zstd 3 15-25% less CPU and ~55 MiB less
// RSS than a new stream per response. (A reused zstd stream is told the size anyway: the
// body's one write ends the frame, and zstd takes the size of a frame given whole in its first
// call, so its tables fit the body. What made reused zstd streams slow before was their
// number: 8 to 50 of them taking turns on a core.) Memory: at most that many streams per
// algorithm and level, however many responses are in flight. The work stays on the thread
// pool (async writes): the event loop never waits for zlib.
import zlib from 'node:zlib'

/** Streams per algorithm and level: the thread pool's size. */
export const WHOLE_STREAMS = Math.max(1, Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4)

/** The compressed body (its chunks, in order), or the zlib error. */
export type WholeDone = (err: Error | null, chunks: Buffer[], length: number) => void

interface Job {
  readonly body: Buffer
  readonly done: WholeDone
}

/** A zlib stream with the output of its current body (reset() is zlib's, untyped in @types/node). */
type Worker = (zlib.Gzip | zlib.ZstdCompress) & { chunks: Buffer[]; outBytes: number; reset(): void }

/** The algorithms whose streams are reused for whole bodies (brotli's reset makes a new encoder). */
export type WholeEncoding = 'gzip' | 'zstd'

function onChunk(this: Worker, chunk: Buffer): void {
  this.chunks.push(chunk)
  this.outBytes += chunk.length
}

/** A swallowed 'error' event: the failure reaches the job through the write's callback. */
function ignore(): void {}

/** The streams of one algorithm and level, and the bodies waiting for them. */
export class WholeBodies {
  readonly #encoding: WholeEncoding
  readonly #level: number
  readonly #free: Worker[] = []
  #made = 0
  readonly #waiting: Job[] = []
  #head = 0

  constructor(encoding: WholeEncoding, level: number) {
    this.#encoding = encoding
    this.#level = level
  }

  /** Compresses `body` (on the thread pool, when a stream is free); `done` once, never synchronously. */
  compress(body: Buffer, done: WholeDone): void {
    const worker = this.#free.pop() ?? (this.#made < WHOLE_STREAMS ? this.#make() : undefined)
    if (worker === undefined) this.#waiting.push({ body, done })
    else this.#run(worker, body, done)
  }

  /** Bodies waiting for a stream (for tests). */
  get waiting(): number {
    return this.#waiting.length - this.#head
  }

  /** Streams made and alive (for tests). */
  get streams(): number {
    return this.#made
  }

  #make(): Worker {
    this.#made++
    const z = (this.#encoding === 'gzip'
      ? zlib.createGzip({ level: this.#level, flush: zlib.constants.Z_FINISH })
      // A 1 MiB window at most, as the route's other zstd streams (route-compression.ts).
      : zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: this.#level, [zlib.constants.ZSTD_c_windowLog]: 20 }, flush: zlib.constants.ZSTD_e_end })) as Worker
    z.chunks = []
    z.outBytes = 0
    z.on('data', onChunk)
    z.on('error', ignore)
    return z
  }

  #run(worker: Worker, body: Buffer, done: WholeDone): void {
    worker.write(body, (err) => {
      // Its output was emitted as 'data' before this callback (a flowing stream); read what a
      // paused moment may have left in its buffer, so no byte of this body reaches the next.
      while (err == null && worker.readableLength > 0 && worker.read() !== null);
      const { chunks, outBytes } = worker
      worker.chunks = []
      worker.outBytes = 0
      if (err == null) {
        worker.reset()
        this.#next(worker)
        done(null, chunks, outBytes)
      } else {
        // A failed stream is never reused: the next waiting body gets a new one.
        worker.destroy()
        this.#made--
        const job = this.#take()
        if (job !== undefined) this.#run(this.#make(), job.body, job.done)
        done(err, [], 0)
      }
    })
  }

  #next(worker: Worker): void {
    const job = this.#take()
    if (job === undefined) this.#free.push(worker)
    else this.#run(worker, job.body, job.done)
  }

  #take(): Job | undefined {
    if (this.#head === this.#waiting.length) return undefined
    const job = this.#waiting[this.#head] as Job
    this.#waiting[this.#head++] = undefined as unknown as Job
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0
      this.#head = 0
    }
    return job
  }
}

/** One per algorithm and level, shared by every route (and config) with them, across reloads. */
const shared = new Map<string, WholeBodies>()

export function wholeBodies(encoding: WholeEncoding, level: number): WholeBodies {
  const key = `${encoding}:${level}`
  let w = shared.get(key)
  if (w === undefined) shared.set(key, (w = new WholeBodies(encoding, level)))
  return w
}
