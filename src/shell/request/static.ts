// Static routes: files served from a directory, after we have decided which file that is:
// - the path is mapped and checked by core/static-files.ts (no "..", "%2f", "\", NUL...);
// - the file's real path (symlinks resolved) must be inside the root's real path, else 404;
// - with `precompressed`, a `.br`/`.gz` sibling the client accepts (Accept-Encoding
//   q-values) is served instead, with the original file's Content-Type, Content-Encoding
//   and `Vary: Accept-Encoding`, looked up like any file;
// - lookups go through the route's file cache (runtime/file-cache.ts) unless it is off: a
//   small file checked within `valid` is answered from memory (GET/HEAD, 200 or 304) with no
//   file system call at all; a large one, or a request with Range, If-Match or
//   If-Unmodified-Since, is streamed by `send` (ETag, Last-Modified, conditional requests,
//   Range, HEAD), with the same ETag and Last-Modified.
// send is handed the real path (relative to the real root), so nothing it resolves itself
// can lead anywhere else.
import { clientAddress } from '../runtime/client-address.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { ReadStream } from 'node:fs'
import type { Socket } from 'node:net'
import { sep } from 'node:path'
import send from 'send'
import {
  acceptedEncodings, directoryLocation, notModified, SIBLING_EXTENSION, STATIC_ALLOW, staticMethodAllowed, staticTarget, type Encoding,
} from '../../core/static-files.js'
import type { StaticFile } from '../runtime/file-cache.js'
import type { ForwardContext } from '../runtime/context.js'
import type { StaticSite } from '../runtime/static-site.js'
import type { RequestLogFields } from '../../core/headers.js'
import { takeBytesRead } from './bytes.js'
import { statusAfterClientGone } from './replies.js'
import { bodyBytes } from './body-gc.js'

/** Serves one request on a static route; writes its metrics and access log line when it ends. */
export function serveStatic(ctx: ForwardContext, site: StaticSite, req: IncomingMessage, res: ServerResponse, fields: RequestLogFields, started: number): void {
  const exchange = new StaticExchange(ctx, site, req, res, fields, started)
  try {
    exchange.serve()
  } catch (err) {
    exchange.fail(err)
  }
}

const kStatic = Symbol('switchyard.static')
type TrackedResponse = ServerResponse & { [kStatic]?: StaticExchange }

// The steps run synchronously while the file cache answers from memory (a hit makes no
// promise, no closure); a lookup that must go to the disk continues in a callback.
class StaticExchange {
  readonly #ctx: ForwardContext
  readonly #site: StaticSite
  readonly #req: IncomingMessage
  readonly #res: TrackedResponse
  readonly #socket: Socket
  readonly #fields: RequestLogFields
  readonly #requestId: string
  readonly #started: number
  /** The file being sent (bytes_out is what was read from it); null for local answers. */
  #file: ReadStream | null = null
  #localBytes = 0

  constructor(ctx: ForwardContext, site: StaticSite, req: IncomingMessage, res: ServerResponse, fields: RequestLogFields, started: number) {
    this.#ctx = ctx
    this.#site = site
    this.#req = req
    this.#res = res
    this.#socket = req.socket
    this.#fields = fields
    this.#requestId = fields.requestId
    this.#started = started
    this.#res[kStatic] = this
    res.once('close', onClose)
  }

  serve(): void {
    const req = this.#req
    const site = this.#site
    const config = site.config
    // A static answer never reads a request body: rather than let Node read and discard one
    // (a chunked upload could go on for minutes), close the connection after the answer.
    if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') this.#res.shouldKeepAlive = false
    if (!staticMethodAllowed(req.method as string)) {
      this.#reply(405, ['Allow', STATIC_ALLOW])
      return
    }
    const target = staticTarget(req.url as string, site.prefix)
    if ('status' in target) {
      this.#reply(target.status)
      return
    }
    // Segments are checked (no "", ".", "..", "/" or NUL): joined as they are, no normalising.
    let path = site.base + target.segments.join(sep)
    if (target.directory) {
      if (config.index === null) {
        this.#reply(404)
        return
      }
      path = target.segments.length === 0 ? site.base + config.index : path + sep + config.index
    }
    const file = site.lookup(path)
    if (file instanceof Promise) file.then((f) => this.#found(f, path, target.directory)).catch((err: unknown) => this.fail(err))
    else this.#found(file, path, target.directory)
  }

  #found(file: StaticFile | null, path: string, directory: boolean): void {
    const config = this.#site.config
    if (file !== null) {
      if (config.precompressed) this.#sibling(file, path, acceptedEncodings(this.#req.headers['accept-encoding']), 0)
      else this.#respond(file, file, null)
    } else if (!directory && config.index !== null) {
      // "/static/docs" naming a directory: with an index, redirect to "/static/docs/".
      this.#site.isDirectory(path)
        .then((isDir) => (isDir ? this.#reply(301, ['Location', directoryLocation(this.#req.url as string)]) : this.#reply(404)))
        .catch((err: unknown) => this.fail(err))
    } else this.#reply(404)
  }

  /** The first sibling the client accepts (from `encodings[i]` on) that exists, else the file itself. */
  #sibling(file: StaticFile, path: string, encodings: readonly Encoding[], i: number): void {
    for (; i < encodings.length; i++) {
      const e = encodings[i] as Encoding
      const sibling = this.#site.lookup(path + SIBLING_EXTENSION[e])
      if (sibling instanceof Promise) {
        const next = i + 1
        sibling.then((s) => (s !== null ? this.#respond(file, s, e) : this.#sibling(file, path, encodings, next))).catch((err: unknown) => this.fail(err))
        return
      }
      if (sibling !== null) {
        this.#respond(file, sibling, e)
        return
      }
    }
    this.#respond(file, file, null)
  }

  /** `served` is `file` or its sibling; the type is the file's: not of "a.css.gz", nor of a symlink's target. */
  #respond(file: StaticFile, served: StaticFile, encoding: Encoding | null): void {
    if (this.#res.destroyed) return // the client left while we looked
    if (served.body !== null && fromMemory(this.#req)) this.#answer(served, file.type, encoding)
    else this.#send(served.real, file.type, encoding)
  }

  /** The file from memory: 304 when the client's validators match, else 200 with its bytes. */
  #answer(file: StaticFile, type: string, encoding: Encoding | null): void {
    const req = this.#req
    const h = req.headers
    const config = this.#site.config
    const head = ['Accept-Ranges', 'bytes', 'Last-Modified', file.lastModified, 'ETag', file.etag, 'X-Request-Id', this.#requestId]
    if (config.precompressed) head.push('Vary', 'Accept-Encoding')
    if (config.cacheControl !== null) head.push('Cache-Control', config.cacheControl)
    const body = file.body as Buffer
    if (notModified(h['if-none-match'], h['if-modified-since'], h['cache-control'], file.etag, file.lastModified)) {
      this.#res.writeHead(304, head)
      this.#res.end()
      return
    }
    head.push('Content-Type', type, 'Content-Length', String(body.length))
    if (encoding !== null) head.push('Content-Encoding', encoding)
    this.#res.writeHead(200, head)
    if (req.method === 'HEAD') this.#res.end()
    else {
      this.#localBytes = body.length
      this.#res.end(body)
    }
  }

  #send(real: string, type: string, encoding: Encoding | null): void {
    const res = this.#res
    const config = this.#site.config
    res.setHeader('X-Request-Id', this.#requestId)
    res.setHeader('Content-Type', type)
    if (encoding !== null) res.setHeader('Content-Encoding', encoding)
    // The answer depends on Accept-Encoding whenever siblings may exist, also when none was chosen.
    if (config.precompressed) res.setHeader('Vary', 'Accept-Encoding')
    if (config.cacheControl !== null) res.setHeader('Cache-Control', config.cacheControl)
    // send decodes its path argument: hand it the real path, percent-encoded per segment.
    const relative = real.slice(config.realRoot.length).split(sep).map(encodeURIComponent).join('/')
    send(this.#req, relative.startsWith('/') ? relative : `/${relative}`, {
      root: config.realRoot,
      index: false,
      cacheControl: false, // ours, from config, or none
      dotfiles: 'allow', // refused on the requested path already; the real path may be anything inside the root
    })
      .on('error', (err: Error & { status?: number; headers?: Record<string, string> }) => {
        const status = err.status ?? 500
        // 412/416 are answers; a 500 is trouble with the file (permissions, a read error) the operator should see.
        if (status >= 500) this.#site.log.warn({ err, path: this.#req.url }, 'static file could not be sent')
        const extra: string[] = []
        for (const [k, v] of Object.entries(err.headers ?? {})) extra.push(k, v)
        this.#reply(status, extra)
      })
      .on('directory', () => this.#reply(404)) // replaced by a directory since we looked
      .on('stream', (stream: ReadStream) => {
        this.#file = stream
        stream.on('data', countRead) // paces the minor GCs that free read buffers
      })
      .pipe(res)
  }

  /** An unexpected failure (a bug): 500, and the error in the log. */
  fail(err: unknown): void {
    this.#site.log.error({ err }, 'static file request failed')
    this.#reply(500)
  }

  #reply(status: number, extra: readonly string[] = []): void {
    const res = this.#res
    if (res.headersSent || res.destroyed) {
      res.destroy() // a body was under way: it must not look complete
      return
    }
    for (const h of res.getHeaderNames()) res.removeHeader(h) // headers meant for the file
    const body = `${(STATUS_CODES[status] ?? 'error').toLowerCase()}\n`
    this.#localBytes = this.#req.method === 'HEAD' ? 0 : Buffer.byteLength(body)
    res.writeHead(status, [
      'Content-Type', 'text/plain; charset=utf-8',
      'Content-Length', String(Buffer.byteLength(body)),
      'X-Request-Id', this.#requestId,
      ...extra,
    ])
    res.end(body)
  }

  finish(): void {
    const res = this.#res
    const status = res.writableFinished ? res.statusCode : statusAfterClientGone
    const seconds = (performance.now() - this.#started) / 1000
    const method = this.#req.method as string
    if (this.#ctx.requestMetrics) this.#site.stats.record(method, status, seconds)
    const log = this.#ctx.accessLog
    if (log === null) return
    const bytesOut = this.#file === null ? this.#localBytes : this.#file.bytesRead
    log.write(this.#fields, method, this.#req.url as string, clientAddress(this.#req, this.#socket), status, this.#site.accessTarget, this.#site.accessRoute, seconds, takeBytesRead(this.#socket), bytesOut, 0, '', '', this.#req.httpVersion)
  }
}

/** Whether the memory answer covers this request: not a Range nor a precondition (send handles those). */
function fromMemory(req: IncomingMessage): boolean {
  const h = req.headers
  return h.range === undefined && h['if-match'] === undefined && h['if-unmodified-since'] === undefined
}

function countRead(chunk: string | Buffer): void {
  bodyBytes(chunk.length)
}

function onClose(this: TrackedResponse): void {
  this[kStatic]?.finish()
}
