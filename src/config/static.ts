// A route's `static:` block: files served from a directory instead of an upstream.
// The root is checked here, at config load (it must exist and be a directory), and its
// real path (symlinks resolved) is kept: files are served from that real path, and a file
// whose real path falls outside it is never served.

import { realpathSync, statSync } from 'node:fs'
import { isAbsolute, normalize } from 'node:path'
import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import { describe } from './problems.js'
import type { StaticConfig } from './types.js'

const STATIC_KEYS = ['root', 'cache_control', 'index', 'precompressed']

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
  }
}

function placeholder(): StaticConfig {
  return { root: '', realRoot: '', cacheControl: null, index: null, precompressed: false }
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
