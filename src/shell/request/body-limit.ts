// The stream between a client's request body and undici. undici destroys the body stream
// it was given when it is done with it, including when the server answered before the
// body was all sent ("response completed before request"). Given the IncomingMessage
// itself, that left the client connection with its reading paused and the rest of the
// body unread: the next request on it was never parsed (measured: 1 MiB uploads to a
// server that answers at once ran at 5 req/s). With this stream in between, the exchange
// can discard the rest of the body itself and keep the connection (as nginx does).
// It also counts: past `limit` (max_body_size, for a body of unknown length) it fails,
// which aborts the upstream request while the 413 can still be written. And it paces the
// minor GCs that free read buffers (body-gc.ts).
import { Transform, type TransformCallback } from 'node:stream'
import { LocalFailure } from '../../core/errors.js'
import { bodyBytes } from './body-gc.js'

export class BodyLimit extends Transform {
  readonly #limit: number
  #seen = 0
  exceeded = false

  constructor(limit = Number.POSITIVE_INFINITY) {
    super()
    this.#limit = limit
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length
    bodyBytes(chunk.length)
    if (this.#seen > this.#limit) {
      this.exceeded = true
      done(new LocalFailure('SY_BODY_TOO_LARGE', `${this.#limit} bytes`))
      return
    }
    done(null, chunk)
  }
}
