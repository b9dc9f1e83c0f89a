// A spool: the bytes of one body held for later (issue #16), the first `memory` bytes in
// memory and the rest in a temp file, as nginx's client_body_buffer_size and
// proxy_temp_path do. Used by request buffering (the whole body, read again from the start
// for each attempt: a retry after a failed connect still has it) and by response buffering
// (a queue between a fast server and a slow client, rewound when the client has caught up).
// - The temp file is made only when the memory part is full: opened 0600 with O_EXCL
//   ('wx+') under temp_dir with a random name, unlinked by close(). close() is the owner's
//   duty at the end of its exchange, whatever the ending; a process that exits with files
//   still open unlinks them in its 'exit' handler (a SIGKILL or a crash can leave a
//   `switchyard-*.tmp` behind: nothing but switchyard writes those names).
// - Writes never block the event loop: they are queued and written in order by
//   fs/promises, one writev at a time. write() returns false while more than HIGH_WATER
//   bytes wait for the disk, or once the spool holds `limit` bytes: the caller stops its
//   source and waits for onDrain (or, at the limit, for its reader to catch up).
// - read() answers from memory at once, from the file once the bytes are written there.
import { unlinkSync } from 'node:fs'
import { open, unlink, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Readable } from 'node:stream'

/** Bytes queued for the disk past which write() asks the caller to wait. */
const HIGH_WATER = 256 * 1024
/** The largest piece read() returns. */
const READ_SIZE = 64 * 1024

export interface SpoolOptions {
  /** Bytes kept in memory before a temp file is used. */
  readonly memory: number
  /** The directory of the temp file. */
  readonly dir: string
  /** write() returns false once the spool holds this many bytes (Infinity: no bound). */
  readonly limit?: number
  /** The disk has taken the queued bytes after write() returned false. */
  readonly onDrain?: () => void
  /** Creating or writing the temp file failed; the spool is unusable (close it). */
  readonly onError?: (err: Error) => void
}

/** Paths of temp files not yet unlinked, for the 'exit' handler. */
const live = new Set<string>()
let exitHookInstalled = false

function unlinkLeftovers(): void {
  for (const path of live) {
    try {
      unlinkSync(path) // at exit only: there is no event loop left to wait for
    } catch {
      // already gone
    }
  }
  live.clear()
}

export class Spool {
  readonly #memoryLimit: number
  readonly #dir: string
  readonly #limit: number
  readonly #onDrain: (() => void) | undefined
  readonly #onError: ((err: Error) => void) | undefined
  #mem: Buffer[] = []
  #memBytes = 0
  /** A byte went to the file: every later byte goes there too (until rewind). */
  #fileUsed = false
  #length = 0
  // The temp file.
  #path: string | null = null
  #handle: FileHandle | null = null
  #queue: Buffer[] = []
  /** Bytes given to write() for the file and not yet written (queued or being written). */
  #pending = 0
  /** Bytes of the file written so far (its end offset). */
  #written = 0
  #writing = false
  #needDrain = false
  #error: Error | null = null
  #closed = false
  #closing: Promise<void> | null = null
  /** Readers waiting for file bytes to be written. */
  #waiters: (() => void)[] = []
  // A lookup hint for read(): the memory chunk index and its start position.
  #hintIndex = 0
  #hintStart = 0

  constructor(options: SpoolOptions) {
    this.#memoryLimit = options.memory
    this.#dir = options.dir
    this.#limit = options.limit ?? Number.POSITIVE_INFINITY
    this.#onDrain = options.onDrain
    this.#onError = options.onError
  }

  /** Bytes written to the spool so far (since the last rewind). */
  get length(): number {
    return this.#length
  }

  /** The spool holds `limit` bytes: the caller should stop adding. */
  get full(): boolean {
    return this.#length >= this.#limit
  }

  /** Whether a temp file was made (tests, and the bench's curiosity). */
  get usesFile(): boolean {
    return this.#path !== null
  }

  get failed(): Error | null {
    return this.#error
  }

  /** Appends a chunk; false: wait for onDrain (disk behind) or stop (full) before the next. */
  write(chunk: Buffer): boolean {
    if (this.#closed || this.#error !== null) return false
    const n = chunk.length
    this.#length += n
    if (!this.#fileUsed && this.#memBytes + n <= this.#memoryLimit) {
      this.#mem.push(chunk)
      this.#memBytes += n
      return this.#length < this.#limit
    }
    this.#fileUsed = true
    this.#queue.push(chunk)
    this.#pending += n
    if (!this.#writing) void this.#flush()
    if (this.#pending > HIGH_WATER) {
      this.#needDrain = true
      return false
    }
    return this.#length < this.#limit
  }

  /** Resolves when every byte written so far is in memory or on disk; rejects when the file failed. */
  async flushed(): Promise<void> {
    while (this.#pending > 0 && this.#error === null && !this.#closed) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    if (this.#error !== null) throw this.#error
  }

  /**
   * Up to READ_SIZE bytes from `position` (< length): at once from memory, else a promise
   * of the file's bytes (waiting for them to be written if need be).
   */
  read(position: number, max = READ_SIZE): Buffer | Promise<Buffer> {
    if (position < this.#memBytes) return this.#readMemory(position, max)
    return this.#readFile(position - this.#memBytes, Math.min(max, this.#length - position))
  }

  /**
   * Empties the spool for reuse once its reader has taken everything (response buffering):
   * the memory is dropped and the file is written again from its start (it is not made
   * again). False, and nothing changes, while bytes are still on their way to the disk.
   */
  rewind(): boolean {
    if (this.#pending > 0 || this.#writing || this.#closed) return false
    this.#mem = []
    this.#memBytes = 0
    this.#fileUsed = false
    this.#length = 0
    this.#written = 0
    this.#hintIndex = 0
    this.#hintStart = 0
    return true
  }

  /** A new stream of the whole spool from its start, or the bytes themselves when they are all in memory. */
  body(): Buffer | Readable {
    if (!this.#fileUsed) return this.#mem.length === 1 ? (this.#mem[0] as Buffer) : Buffer.concat(this.#mem, this.#memBytes)
    return new SpoolReader(this)
  }

  /** Drops the bytes, closes and unlinks the temp file; idempotent; never rejects. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    this.#mem = []
    this.#queue = []
    this.#wake()
    this.#closing = this.#release()
    return this.#closing
  }

  async #release(): Promise<void> {
    // A flush in progress finishes its one write first (it owns the handle until then).
    while (this.#writing) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    const handle = this.#handle
    const path = this.#path
    this.#handle = null
    if (handle !== null) await handle.close().catch(() => undefined)
    if (path !== null) {
      await unlink(path).catch(() => undefined)
      live.delete(path)
    }
  }

  #readMemory(position: number, max: number): Buffer {
    let i = 0
    let start = 0
    if (position >= this.#hintStart) [i, start] = [this.#hintIndex, this.#hintStart]
    for (; ;) {
      const chunk = this.#mem[i] as Buffer
      if (position < start + chunk.length) {
        this.#hintIndex = i
        this.#hintStart = start
        const from = position - start
        return chunk.subarray(from, Math.min(chunk.length, from + max))
      }
      start += chunk.length
      i++
    }
  }

  async #readFile(offset: number, n: number): Promise<Buffer> {
    while (this.#written < offset + 1 && this.#error === null && !this.#closed) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    if (this.#error !== null) throw this.#error
    if (this.#closed || this.#handle === null) throw new Error('spool closed')
    const size = Math.min(n, this.#written - offset)
    const buf = Buffer.allocUnsafe(size)
    const { bytesRead } = await this.#handle.read(buf, 0, size, offset)
    if (bytesRead === 0) throw new Error('spool: temp file shorter than written')
    return bytesRead === size ? buf : buf.subarray(0, bytesRead)
  }

  async #flush(): Promise<void> {
    this.#writing = true
    try {
      const handle = this.#handle ?? (await this.#open())
      while (this.#queue.length > 0 && !this.#closed) {
        const bufs = this.#queue
        this.#queue = []
        let n = 0
        for (const b of bufs) n += b.length
        let done = 0
        while (done < n) {
          const { bytesWritten } = await handle.writev(done === 0 ? bufs : [Buffer.concat(bufs).subarray(done)], this.#written)
          done += bytesWritten
          this.#written += bytesWritten
        }
        this.#pending -= n
        this.#wake()
      }
    } catch (err) {
      this.#error = err as Error
      this.#writing = false
      this.#wake()
      if (!this.#closed) this.#onError?.(this.#error)
      return
    }
    this.#writing = false
    this.#wake()
    if (this.#needDrain && this.#pending <= HIGH_WATER && !this.#closed) {
      this.#needDrain = false
      this.#onDrain?.()
    }
  }

  async #open(): Promise<FileHandle> {
    const path = join(this.#dir, `switchyard-${randomBytes(12).toString('hex')}.tmp`)
    // 'wx+': O_RDWR | O_CREAT | O_EXCL, mode 0600: never someone else's file, never readable by others.
    const handle = await open(path, 'wx+', 0o600)
    this.#path = path
    this.#handle = handle
    live.add(path)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.once('exit', unlinkLeftovers)
    }
    return handle
  }

  #wake(): void {
    const waiters = this.#waiters
    if (waiters.length === 0) return
    this.#waiters = []
    for (const w of waiters) w()
  }
}

/** The whole spool from its start, as a stream (a request body for undici, once per attempt). */
class SpoolReader extends Readable {
  readonly #spool: Spool
  #position = 0

  constructor(spool: Spool) {
    super({ highWaterMark: READ_SIZE })
    this.#spool = spool
  }

  override _read(): void {
    const spool = this.#spool
    if (this.#position >= spool.length) {
      this.push(null)
      return
    }
    const piece = spool.read(this.#position)
    if (!(piece instanceof Promise)) {
      this.#position += piece.length
      this.push(piece)
      return
    }
    piece.then((b) => {
      this.#position += b.length
      this.push(b)
    }, (err: Error) => this.destroy(err))
  }
}
