// A static route's open-file cache, nginx's `open_file_cache` with the bytes kept too: per
// file path, what a lookup found (the real path, size, mtime, validators, Content-Type, and
// for a file up to `max_file_size` its bytes) or that nothing servable is there. A lookup
// checked less than `valid` ago answers from memory: no realpath, stat or open round trip
// through the thread pool. An older one is checked again (realpath + stat, and a read only
// when the file changed), so a replaced or removed file is served at most `valid` after the
// change. Concurrent checks of one path share one.
//
// Bounds: the bytes kept (`max_size`) and the paths known (`max_entries`, missing ones
// included), with the memory store's second-chance eviction (cache/memory-store.ts).
// Where the real path must lie (inside the root) is the site's rule: it is passed in as
// `resolve`, the same function an uncached lookup uses.
import type { Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { contentType } from 'mime-types'
import type { FileCacheConfig } from '../../config/types.js'
import { fileEtag } from '../../core/static-files.js'

/** A regular file inside the root, as served. */
export interface StaticFile {
  /** Its real path (symlinks resolved): what send streams. */
  readonly real: string
  readonly size: number
  readonly etag: string
  readonly lastModified: string
  /** The type of the path's name (not of a symlink's target, nor of a `.gz`). */
  readonly type: string
  /** The whole file, when it is at most max_file_size; null: streamed from disk. */
  readonly body: Buffer | null
}

export type Resolve = (path: string) => Promise<{ real: string; stat: Stats } | null>

interface Slot {
  readonly file: StaticFile | null // null: nothing servable at this path
  readonly mtimeMs: number
  readonly ino: number
  checkedAt: number
  used: boolean
}

export function staticFile(path: string, real: string, stat: Stats, body: Buffer | null): StaticFile {
  return {
    real,
    size: stat.size,
    etag: fileEtag(stat.size, stat.mtime.getTime()), // Node rounds mtimeMs into the Date; send hashes the Date
    lastModified: stat.mtime.toUTCString(),
    type: contentType(extname(basename(path))) || 'application/octet-stream',
    body,
  }
}

export class FileCache {
  readonly #config: FileCacheConfig
  readonly #resolve: Resolve
  readonly #slots = new Map<string, Slot>()
  readonly #checks = new Map<string, Promise<StaticFile | null>>()
  #bytes = 0

  constructor(config: FileCacheConfig, resolve: Resolve) {
    this.#config = config
    this.#resolve = resolve
  }

  /** Bytes of file bodies held. */
  get bytes(): number {
    return this.#bytes
  }

  /** What is at `path`: from memory when checked within `valid`, else a promise of a fresh check. */
  lookup(path: string): StaticFile | null | Promise<StaticFile | null> {
    const slot = this.#slots.get(path)
    if (slot !== undefined && performance.now() - slot.checkedAt < this.#config.validMs) {
      slot.used = true
      return slot.file
    }
    let check = this.#checks.get(path)
    if (check === undefined) {
      check = this.#check(path, slot).finally(() => this.#checks.delete(path))
      this.#checks.set(path, check)
    }
    return check
  }

  async #check(path: string, old: Slot | undefined): Promise<StaticFile | null> {
    const checkedAt = performance.now()
    const found = await this.#resolve(path)
    if (found === null || !found.stat.isFile()) {
      this.#store(path, { file: null, mtimeMs: 0, ino: 0, checkedAt, used: false })
      return null
    }
    const { real, stat } = found
    const same = old?.file != null && old.file.real === real && old.ino === stat.ino && old.mtimeMs === stat.mtimeMs && old.file.size === stat.size
    if (same) {
      old.checkedAt = checkedAt
      return old.file
    }
    const read = stat.size <= this.#config.maxFileSize ? await this.#read(path, real) : null
    if (read === null) {
      // Large, or it changed under the read (or vanished): streamed by send, which says what
      // became of it. Only a large one is remembered; a changing one is checked again next time.
      const file = staticFile(path, real, stat, null)
      if (stat.size > this.#config.maxFileSize) this.#store(path, { file, mtimeMs: stat.mtimeMs, ino: stat.ino, checkedAt, used: false })
      return file
    }
    this.#store(path, { file: read.file, mtimeMs: read.mtimeMs, ino: read.ino, checkedAt, used: false })
    return read.file
  }

  /** The file's bytes and the stat of the very file read (it may have been replaced since the first stat). */
  async #read(path: string, real: string): Promise<{ file: StaticFile; mtimeMs: number; ino: number } | null> {
    let handle
    try {
      handle = await open(real, 'r')
      const stat = await handle.stat()
      if (!stat.isFile()) return null
      if (stat.size > this.#config.maxFileSize) return { file: staticFile(path, real, stat, null), mtimeMs: stat.mtimeMs, ino: stat.ino }
      const body = Buffer.allocUnsafe(stat.size)
      let at = 0
      while (at < body.length) {
        const { bytesRead } = await handle.read(body, at, body.length - at, at)
        if (bytesRead === 0) return null // shorter than its stat: being rewritten
        at += bytesRead
      }
      return { file: staticFile(path, real, stat, body), mtimeMs: stat.mtimeMs, ino: stat.ino }
    } catch {
      return null // vanished or unreadable since the stat: send will say what it is
    } finally {
      await handle?.close()
    }
  }

  #store(path: string, slot: Slot): void {
    const old = this.#slots.get(path)
    if (old !== undefined) {
      this.#bytes -= old.file?.body?.length ?? 0
      this.#slots.delete(path)
    }
    const size = slot.file?.body?.length ?? 0
    if (size > this.#config.maxSize) return
    this.#slots.set(path, slot)
    this.#bytes += size
    this.#evict(path)
  }

  /** Second chance, as in the memory store: the URL just stored stays (it fits on its own). */
  #evict(keep: string): void {
    const { maxSize, maxEntries } = this.#config
    while (this.#bytes > maxSize || this.#slots.size > maxEntries) {
      const path = this.#slots.keys().next().value as string
      const slot = this.#slots.get(path) as Slot
      if (path === keep && this.#slots.size === 1) return
      this.#slots.delete(path)
      if (slot.used || path === keep) {
        slot.used = false
        this.#slots.set(path, slot)
        continue
      }
      this.#bytes -= slot.file?.body?.length ?? 0
    }
  }
}
