// Where log lines go: encoded (access-log.ts) or copied at once into a reusable byte
// buffer, written to stdout (log-output.ts) a buffer at a time. Measured (node --trace-gc,
// 64 KiB responses): lines kept as strings until a batch was written lived long enough to
// be promoted to V8's old space, doubling the major GCs (39 Mark-Compacts against 19 in
// 5 s) and costing ~15% of throughput; in a buffer they leave nothing to collect.
// Writes are in order, one in flight at a time; filled buffers wait in a queue bounded by
// `maxQueuedBytes` (a stalled stdout must not grow memory without end): past it, lines are
// dropped and counted, and the count is reported once the queue drains. A full
// non-blocking pipe (EAGAIN) is retried; other write errors (EPIPE: stdout gone) drop the chunk.
import { openLogOutput, type LogOutput } from './log-output.js'
import type { ByteSink } from './json-bytes.js'

const EAGAIN_RETRY_MS = 10

export class LineWriter {
  readonly #out: LogOutput
  readonly #size: number
  readonly #maxQueuedBytes: number
  /** The buffer being filled, and how far. */
  readonly #sink: ByteSink
  /** A line longer than a buffer gets a buffer of its own, written alone at end(). */
  #oversize: ByteSink | null = null
  #spares: Buffer[] = []
  readonly #queue: Buffer[] = []
  #queuedBytes = 0
  #writing = false
  #dropped = 0
  readonly #timer: NodeJS.Timeout

  /**
   * `size`: bytes per write. Keep it at 4096 or less when other processes write to the
   * same pipe: a pipe keeps writes of up to PIPE_BUF (4096) bytes whole.
   */
  constructor(fd: number, size: number, flushEveryMs = 250, maxQueuedBytes = 16 * 1024 * 1024) {
    this.#out = openLogOutput(fd)
    this.#size = size
    this.#maxQueuedBytes = maxQueuedBytes
    this.#sink = { buf: Buffer.allocUnsafeSlow(size), pos: 0 }
    this.#timer = setInterval(() => this.flush(), flushEveryMs)
    this.#timer.unref()
  }

  /** One or more whole lines, each ending in "\n". */
  write(lines: string): void {
    // A JS character takes at most 3 UTF-8 bytes.
    const sink = this.begin(lines.length * 3)
    sink.pos += sink.buf.write(lines, sink.pos)
    this.end()
  }

  /**
   * Room for `max` more bytes, to encode whole lines into; call end() once they are in.
   * The current buffer (handed to the queue first when short of room), or, for more than
   * a buffer holds, a buffer of its own.
   */
  begin(max: number): ByteSink {
    if (this.#size - this.#sink.pos < max) this.flush() // (also keeps an oversize line in order)
    if (max > this.#size) return (this.#oversize = { buf: Buffer.allocUnsafe(max), pos: 0 })
    return this.#sink
  }

  /** Bytes left in the buffer being filled: a line of at most this many goes in place, begin() flushing nothing. */
  get room(): number {
    return this.#size - this.#sink.pos
  }

  /** Whole lines already encoded elsewhere: the first `n` bytes of `bytes`. */
  writeBytes(bytes: Buffer, n: number): void {
    const sink = this.begin(n)
    bytes.copy(sink.buf, sink.pos, 0, n)
    sink.pos += n
    this.end()
  }

  end(): void {
    const big = this.#oversize
    if (big === null) return
    this.#oversize = null
    this.#enqueue(big.buf.subarray(0, big.pos))
  }

  /** Hands the filled part of the buffer to the writer queue. */
  flush(): void {
    const sink = this.#sink
    if (sink.pos === 0) return
    const filled = sink.buf.subarray(0, sink.pos)
    sink.buf = this.#spares.pop() ?? Buffer.allocUnsafeSlow(this.#size)
    sink.pos = 0
    this.#enqueue(filled)
  }

  /**
   * Before exit: everything still held, written synchronously; a full pipe is waited for
   * until `deadline` (Date.now() ms). A chunk already handed to a pipe's stream is not
   * here: drain() waits for it.
   */
  flushSync(deadline = Date.now() + 1000): void {
    this.flush()
    for (const chunk of this.#queue.splice(0)) {
      if (!this.#out.writeNow(chunk, deadline)) return // stdout gone or stuck: nothing more to do
    }
  }

  /** Resolves once every line so far is written (or dropped), or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush()
    const deadline = Date.now() + timeoutMs
    while ((this.#writing || this.#queue.length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  }

  #enqueue(chunk: Buffer): void {
    if (this.#queuedBytes + chunk.length > this.#maxQueuedBytes) {
      this.#dropped += countLines(chunk)
      this.#recycle(chunk)
      return
    }
    this.#queue.push(chunk)
    this.#queuedBytes += chunk.length
    this.#next()
  }

  #next(): void {
    if (this.#writing) return
    const chunk = this.#queue.shift()
    if (chunk === undefined) {
      if (this.#dropped > 0) {
        const note = `{"level":"warn","pid":${process.pid},"time":${Date.now()},"dropped_lines":${this.#dropped},"msg":"stdout too slow: access log lines dropped"}\n`
        this.#dropped = 0
        this.#enqueue(Buffer.from(note))
      }
      return
    }
    this.#writing = true
    this.#out.write(chunk, (err, written) => {
      this.#writing = false
      if (err?.code === 'EAGAIN' || (err === null && written < chunk.length)) {
        // A partial write, or a full non-blocking pipe (the reader is slow): the rest goes first.
        this.#queue.unshift(chunk.subarray(written))
        this.#queuedBytes -= written
        if (err !== null) {
          setTimeout(() => this.#next(), EAGAIN_RETRY_MS).unref()
          return
        }
      } else {
        this.#queuedBytes -= chunk.length // written, or failed for good (EPIPE: stdout gone): dropped
        this.#recycle(chunk)
      }
      this.#next()
    })
  }

  #recycle(chunk: Buffer): void {
    // Only whole buffers of our size come back into use, and two spares are plenty.
    if (chunk.buffer.byteLength === this.#size && chunk.byteOffset === 0 && this.#spares.length < 2) {
      this.#spares.push(Buffer.from(chunk.buffer, 0, this.#size))
    }
  }
}

function countLines(chunk: Buffer): number {
  let n = 0
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++
  return n
}
