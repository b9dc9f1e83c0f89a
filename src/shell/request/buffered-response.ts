// Response buffering (issue #16, `buffering.response`): when the client cannot take the
// response as fast as the server sends it, the rest goes to a Spool (spool.ts) instead of
// pausing the server's connection, so the server finishes at its own speed: its Pool
// connection is free again and, for an app with a few sync workers (gunicorn -k sync), the
// worker takes the next request instead of waiting on a phone on a bad network. The client
// is fed from the spool as it drains (nginx's proxy_buffering with a temp file).
// - Made by the exchange only when the client falls behind (res.write returned false) on a
//   response that may be buffered (core/buffering.ts): a fast client never allocates one.
// - Once the client has caught up, the spool is rewound and chunks go straight through
//   again; a spool holding max_temp_size bytes (memory part included) stops the server
//   (controller.pause()) until the client has taken it all: past that, the response streams
//   at the client's pace, as it would without buffering.
// - close() (the exchange's finish(), whatever the ending) drops the memory and unlinks the file.
import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { BufferingConfig } from '../../config/types.js'
import { Spool } from './spool.js'

/** The exchange side of a spooled response (exchange.ts). */
export interface SpoolOwner {
  /** Every byte has reached the client and the response is ended. */
  spoolDelivered(): void
  /** The spool's temp file can not be written or read: the response can not go on. */
  spoolFailed(err: Error): void
}

export class ResponseSpooler {
  readonly #res: ServerResponse
  readonly #owner: SpoolOwner
  readonly #controller: Dispatcher.DispatchController
  readonly #spool: Spool
  /** Position in the spool of the next byte for the client. */
  #cursor = 0
  /** A pump is under way (reading the file, or waiting for the client's 'drain'). */
  #pumping = false
  /** The server was stopped (spool full, or its disk behind). */
  #paused = false
  #upstreamEnded = false
  #closed = false
  readonly #pump = (): void => void this.#run()

  constructor(res: ServerResponse, buffering: BufferingConfig, controller: Dispatcher.DispatchController, owner: SpoolOwner) {
    this.#res = res
    this.#owner = owner
    this.#controller = controller
    this.#spool = new Spool({
      memory: buffering.memory,
      dir: buffering.tempDir,
      limit: buffering.maxTempSize,
      onDrain: () => {
        if (this.#paused && !this.#spool.full) this.#resume()
      },
      onError: (err) => owner.spoolFailed(err),
    })
    // The chunk that made res.write() return false is in the response's own buffer: wait for it.
    this.#pumping = true
    res.once('drain', this.#pump)
  }

  /** The server has sent everything: it is no longer waiting on the client. */
  get upstreamEnded(): boolean {
    return this.#upstreamEnded
  }

  /** A chunk from the server: straight to the client when nothing waits before it, else to the spool. */
  push(chunk: Buffer): void {
    if (this.#closed) return
    if (!this.#pumping && this.#cursor === this.#spool.length) {
      if (this.#res.write(chunk)) return
      this.#pumping = true
      this.#res.once('drain', this.#pump)
      return
    }
    if (!this.#spool.write(chunk) && !this.#paused) {
      this.#paused = true
      this.#controller.pause()
    }
  }

  /** The server's response is complete (its connection is released by the exchange). */
  end(): void {
    this.#upstreamEnded = true
    if (!this.#pumping) void this.#run()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#res.off('drain', this.#pump)
    void this.#spool.close()
  }

  /** Feeds the client from the spool until it pushes back, or the spool is empty. */
  async #run(): Promise<void> {
    this.#pumping = true
    const spool = this.#spool
    const res = this.#res
    try {
      while (this.#cursor < spool.length) {
        const read = spool.read(this.#cursor)
        const piece = read instanceof Promise ? await read : read
        if (this.#closed) return
        this.#cursor += piece.length
        if (!res.write(piece)) {
          res.once('drain', this.#pump)
          return // #pumping stays true: the 'drain' goes on
        }
      }
    } catch (err) {
      if (!this.#closed) this.#owner.spoolFailed(err as Error)
      return
    }
    // Caught up.
    if (spool.rewind()) this.#cursor = 0
    this.#pumping = false
    if (this.#upstreamEnded) {
      res.end()
      this.#owner.spoolDelivered()
      return
    }
    if (this.#paused) this.#resume()
  }

  #resume(): void {
    this.#paused = false
    this.#controller.resume()
  }
}
