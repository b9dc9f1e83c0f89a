// One static route's directory, resolved at config load (request/static.ts serves from it):
// its real root, the route's prefix, and the metrics and log children its requests use. The
// file lookups live here too, so that the check "a served file's real path is inside the
// root" is one method, next to the root it checks against. With `file_cache` (the default)
// lookups go through the route's FileCache (runtime/file-cache.ts), which calls that check.
import type { Stats } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { sep } from 'node:path'
import type { StaticConfig } from '../../config/types.js'
import { ProxyRoute } from './proxy-route.js'
import { AccessLog } from '../observe/access-log.js'
import type { Logger } from '../observe/log.js'
import type { Metrics } from '../observe/metrics.js'
import type { RequestStats } from '../observe/request-stats.js'
import { FileCache, staticFile, type StaticFile } from './file-cache.js'

/** The `upstream` label and access log field of every static request; `server` is the root. */
export const STATIC_LABEL = 'static'

/** One static route's directory, built at config load. */
export class StaticSite {
  readonly config: StaticConfig
  /** The route's path_prefix, cut from the request path. */
  readonly prefix: string
  /** The real root with a trailing separator: a served file's real path must start with it, and a requested one is built on it. */
  readonly base: string
  readonly stats: RequestStats
  readonly accessTarget: Buffer
  /** The access log's `,"route":"<name>"`. */
  readonly accessRoute: Buffer
  readonly log: Logger
  /** null: `file_cache: false`, every lookup goes to the file system. */
  readonly files: FileCache | null

  constructor(config: StaticConfig, prefix: string, log: Logger, metrics: Metrics, name: string) {
    this.config = config
    this.prefix = prefix
    this.log = log.child({ static: config.root })
    this.base = config.realRoot.endsWith(sep) ? config.realRoot : config.realRoot + sep
    this.stats = metrics.stats(STATIC_LABEL, config.root)
    this.accessTarget = AccessLog.target(STATIC_LABEL, config.root)
    this.accessRoute = ProxyRoute.accessRoute(name)
    this.files = config.fileCache === null ? null : new FileCache(config.fileCache, (path) => this.#resolve(path))
  }

  /** The regular file inside the root at `path`, null when there is none: from memory when the file cache knows. */
  lookup(path: string): StaticFile | null | Promise<StaticFile | null> {
    return this.files !== null ? this.files.lookup(path) : this.#uncached(path)
  }

  async #uncached(path: string): Promise<StaticFile | null> {
    const found = await this.#resolve(path)
    return found !== null && found.stat.isFile() ? staticFile(path, found.real, found.stat, null) : null
  }

  async #resolve(path: string): Promise<{ real: string; stat: Stats } | null> {
    try {
      const real = await realpath(path)
      // Outside the root: a symlink led out. The root itself counts as inside (a directory).
      if (!real.startsWith(this.base) && real !== this.config.realRoot) return null
      return { real, stat: await stat(real) }
    } catch {
      return null // ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG: not a file we can serve
    }
  }

  /** Whether `path` (inside the root) is a directory: the client gets a redirect to it with "/". */
  async isDirectory(path: string): Promise<boolean> {
    const found = await this.#resolve(path)
    return found !== null && found.stat.isDirectory()
  }
}

