// A route's `static:` block: files served from a directory instead of an upstream.
// The root is checked here, at config load (it must exist and be a directory), and its
// real path (symlinks resolved) is kept: files are served from that real path, and a file
// whose real path falls outside it is never served.

import { realpathSync, statSync } from 'node:fs'
import { isAbsolute, normalize } from 'node:path'
import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readInt, readSize, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import type { FileCacheConfig, StaticConfig } from './types.js'

const STATIC_KEYS = ['root', 'cache_control', 'index', 'precompressed', 'file_cache']
const FILE_CACHE_KEYS = ['max_file_size', 'max_size', 'max_entries', 'valid']
const MAX_BYTES = 1024 ** 4

// A header value Node accepts: visible ASCII, space and tab (no CR/LF: no header injection).
const HEADER_VALUE = /^[\t\x20-\x7e]+$/

export function readStatic(c: Cursor): StaticConfig {
  checkMap(c, STATIC_KEYS)
  if (!c.absent && !(c.value instanceof Map)) return placeholder() // reported by checkMap
  const { root, realRoot } = readRoot(c.field('root'))
  return {
    root,
    realRoot,
    cacheControl: readCacheControl(c.field('cache_control')),
    index: readIndex(c.field('index')),
    precompressed: readBool(c.field('precompressed'), DEFAULTS.static.precompressed),
    fileCache: readFileCache(c.field('file_cache')),
  }
}

function placeholder(): StaticConfig {
  return { root: '', realRoot: '', cacheControl: null, index: null, precompressed: false, fileCache: null }
}

/** Absent or `{...}`: on (defaults filled in); `false`: off. */
function readFileCache(c: Cursor): FileCacheConfig | null {
  const d = DEFAULTS.static.fileCache
  if (c.value === false) return null
  if (c.value === true) return d
  if (!c.absent && !(c.value instanceof Map)) {
    c.report(`must be false or a map with the keys ${FILE_CACHE_KEYS.join(', ')} (got ${describe(c.value)})`)
    return null
  }
  checkMap(c, FILE_CACHE_KEYS)
  const maxSize = readSize(c.field('max_size'), d.maxSize, { min: 0, max: MAX_BYTES })
  const fileCursor = c.field('max_file_size')
  const maxFileSize = readSize(fileCursor, Number.isNaN(maxSize) ? d.maxFileSize : Math.min(d.maxFileSize, maxSize), { min: 0, max: MAX_BYTES })
  if (maxFileSize > maxSize) fileCursor.report(`must not be larger than max_size (${maxSize} bytes)`)
  return {
    maxFileSize,
    maxSize,
    maxEntries: readInt(c.field('max_entries'), { min: 1, max: 10_000_000 }, d.maxEntries),
    validMs: readDuration(c.field('valid'), d.validMs),
  }
}

function readRoot(c: Cursor): { root: string; realRoot: string } {
  const raw = readString(c, REQUIRED)
  if (raw === '') return { root: '', realRoot: '' }
  // Relative to what? The daemon's working directory is "/" under systemd and something
  // else in a shell: an absolute path means the same thing everywhere.
  if (!isAbsolute(raw)) {
    c.report(`must be an absolute path (got "${raw}")`)
    return { root: '', realRoot: '' }
  }
  const root = normalize(raw).replace(/(.)\/+$/, '$1')
  try {
    if (!statSync(root).isDirectory()) {
      c.report(`must be a directory ("${root}" is not one)`)
      return { root, realRoot: '' }
    }
    return { root, realRoot: realpathSync(root) }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    c.report(code === 'ENOENT' || code === 'ENOTDIR' ? `directory "${root}" does not exist`
      : code === 'EACCES' ? `directory "${root}" is not readable by this process (permission denied)`
        : `cannot use directory "${root}" (${code ?? 'error'})`)
    return { root, realRoot: '' }
  }
}

function readCacheControl(c: Cursor): string | null {
  if (c.absent) return null
  const v = readString(c, REQUIRED)
  if (v === '') return null
  if (!HEADER_VALUE.test(v)) {
    c.report(`must be a header value: printable ASCII on one line (got ${describe(v)})`)
    return null
  }
  return v
}

/** false (the default) = directories get 404; a file name = that file answers for a directory. */
function readIndex(c: Cursor): string | null {
  if (c.absent || c.value === false) return null
  const v = c.value
  if (typeof v !== 'string' || v === '' || v === '.' || v === '..' || /[/\\\0]/.test(v) || v.startsWith('.')) {
    c.report(`must be false or a file name such as "index.html", without "/" and not starting with "." (got ${describe(v)})`)
    return null
  }
  return v
}
