// max_body_size for a body of unknown length (chunked): a counting stream between the
// client request and undici. Past the limit it fails, which aborts the upstream request
// without destroying the client's request stream (undici destroys the stream it was given,
// and destroying the IncomingMessage would cut the socket before the 413 is written).
import { Transform, type TransformCallback } from 'node:stream'

export class BodyTooLarge extends Error {
  readonly code = 'ERR_BODY_TOO_LARGE'
}

export class BodyLimit extends Transform {
  readonly #limit: number
  #seen = 0
  exceeded = false

  constructor(limit: number) {
    super()
    this.#limit = limit
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#limit) {
      this.exceeded = true
      done(new BodyTooLarge(`request body over max_body_size (${this.#limit} bytes)`))
      return
    }
    done(null, chunk)
  }
}
