// gzip for whole bodies (a response of known length up to compressor.ts's WHOLE_MAX): each body
// is one write with the finish flag on a reused stream, and the streams of one level are
// bounded: as many as the thread pool has threads (UV_THREADPOOL_SIZE, 4 by default), since no
// more than that can compress at once anyway. A body that finds every stream busy waits its
// turn in a FIFO queue. So a burst of responses never makes new streams: making one (its
// ~260 KiB of state allocated, zeroed and tracked as external memory, then collected) cost more
// than compressing the body — measured 2026-12-06, 10 KiB of JSON at gzip 1 on one core with 50
// at once: 150-160 µs of CPU per body with a new stream each (zlib.gzip), ~20 µs through 4
// reused streams and this queue. Memory: at most that many streams per level, however many
// responses are in flight. The work stays on the thread pool (async writes): the event loop
// never waits for zlib.
import zlib from 'node:zlib'

/** Streams per gzip level: the thread pool's size. */
export const WHOLE_STREAMS = Math.max(1, Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4)

/** The compressed body (its chunks, in order), or the zlib error. */
export type WholeDone = (err: Error | null, chunks: Buffer[], length: number) => void

interface Job {
  readonly body: Buffer
  readonly done: WholeDone
}

/** A gzip stream with the output of its current body (reset() is zlib's, untyped in @types/node). */
type Worker = zlib.Gzip & { chunks: Buffer[]; length: number; reset(): void }

function onChunk(this: Worker, chunk: Buffer): void {
  this.chunks.push(chunk)
  this.length += chunk.length
}

/** A swallowed 'error' event: the failure reaches the job through the write's callback. */
function ignore(): void {}

/** The gzip streams of one level and the bodies waiting for them. */
export class WholeGzip {
  readonly #level: number
  readonly #free: Worker[] = []
  #made = 0
  readonly #waiting: Job[] = []
  #head = 0

  constructor(level: number) {
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
    const z = zlib.createGzip({ level: this.#level, flush: zlib.constants.Z_FINISH }) as Worker
    z.chunks = []
    z.length = 0
    z.on('data', onChunk)
    z.on('error', ignore)
    return z
  }

  #run(worker: Worker, body: Buffer, done: WholeDone): void {
    worker.write(body, (err) => {
      // Its output was emitted as 'data' before this callback (a flowing stream); read what a
      // paused moment may have left in its buffer, so no byte of this body reaches the next.
      while (err == null && worker.readableLength > 0 && worker.read() !== null);
      const { chunks, length } = worker
      worker.chunks = []
      worker.length = 0
      if (err == null) {
        worker.reset()
        this.#next(worker)
        done(null, chunks, length)
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

/** One per level, shared by every route (and config) with that level, across reloads. */
const byLevel = new Map<number, WholeGzip>()

export function wholeGzip(level: number): WholeGzip {
  let w = byLevel.get(level)
  if (w === undefined) byLevel.set(level, (w = new WholeGzip(level)))
  return w
}
