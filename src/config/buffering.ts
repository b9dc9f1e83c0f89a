// The `buffering:` blocks (issue #16): an upstream's request and response buffering, and a
// route's override of its two switches. Read here, resolved per route at config load
// (`effectiveBuffering`), so the request path only asks "does this route buffer?".
// temp_dir is checked at load (as a static root is): it must be an absolute path to a
// directory this process can write, because a spool that fails at the first slow client is
// worse than a daemon that refuses to start. switchyard does not create it (nginx creates
// client_body_temp_path; a package or the systemd unit's StateDirectory= is the place for that).

import { accessSync, constants, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, normalize } from 'node:path'
import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readSize, readString, REQUIRED } from './fields.js'
import type { Cursor } from './fields.js'
import type { BufferingConfig, RouteBufferingConfig } from './types.js'

const BUFFERING_KEYS = ['request', 'response', 'memory', 'temp_dir', 'max_temp_size']
const ROUTE_BUFFERING_KEYS = ['request', 'response']
const MAX_BYTES = 1024 ** 4 // 1 TiB: more is a typo

/** `upstreams.<name>.buffering`; absent = nothing is buffered (the property stays absent). */
export function readBuffering(c: Cursor): { buffering?: BufferingConfig } {
  if (c.absent) return {}
  if (!checkMap(c, BUFFERING_KEYS) || !(c.value instanceof Map)) return {}
  const d = DEFAULTS.buffering
  const maxCursor = c.field('max_temp_size')
  const maxTempSize = readSize(maxCursor, d.maxTempSize, { min: 0, max: MAX_BYTES })
  const memoryCursor = c.field('memory')
  const memory = readSize(memoryCursor, Math.min(d.memory, Number.isNaN(maxTempSize) ? d.memory : maxTempSize), { min: 0, max: MAX_BYTES })
  if (memory > maxTempSize) memoryCursor.report(`must not be larger than max_temp_size (${maxTempSize} bytes): memory is the first part of a spool that max_temp_size bounds`)
  return {
    buffering: {
      request: readBool(c.field('request'), false),
      response: readBool(c.field('response'), false),
      memory,
      tempDir: readTempDir(c.field('temp_dir')),
      maxTempSize,
    },
  }
}

/** `routes[].buffering`: only `request` and `response`, only on a route with an upstream. */
export function readRouteBuffering(c: Cursor, staticRoute: boolean): { buffering?: RouteBufferingConfig } {
  if (c.absent) return {}
  if (staticRoute) {
    c.report('applies to routes with an `upstream` only: a static route\'s files are read from disk, nothing to buffer')
    return {}
  }
  if (!checkMap(c, ROUTE_BUFFERING_KEYS) || !(c.value instanceof Map)) return {}
  const out: { request?: boolean; response?: boolean } = {}
  const request = c.field('request')
  if (!request.absent) out.request = readBool(request, false)
  const response = c.field('response')
  if (!response.absent) out.response = readBool(response, false)
  return { buffering: out }
}

/** The buffering a route gets: its upstream's, with the route's switches over it; null when it buffers nothing. */
export function effectiveBuffering(upstream: BufferingConfig | undefined, route: RouteBufferingConfig | undefined): BufferingConfig | null {
  const request = route?.request ?? upstream?.request ?? false
  const response = route?.response ?? upstream?.response ?? false
  if (!request && !response) return null
  const d = DEFAULTS.buffering
  const base = upstream ?? { memory: d.memory, tempDir: tmpdir(), maxTempSize: d.maxTempSize }
  return { request, response, memory: base.memory, tempDir: base.tempDir, maxTempSize: base.maxTempSize }
}

function readTempDir(c: Cursor): string {
  if (c.absent) return tmpdir()
  const raw = readString(c, REQUIRED)
  if (raw === '') return ''
  // Relative to what? Under systemd the working directory is "/": an absolute path means the same everywhere.
  if (!isAbsolute(raw)) {
    c.report(`must be an absolute path (got "${raw}")`)
    return ''
  }
  const dir = normalize(raw).replace(/(.)\/+$/, '$1')
  try {
    if (!statSync(dir).isDirectory()) {
      c.report(`must be a directory ("${dir}" is not one)`)
      return dir
    }
    accessSync(dir, constants.W_OK | constants.X_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    c.report(code === 'ENOENT' || code === 'ENOTDIR' ? `directory "${dir}" does not exist (switchyard does not create it)`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `directory "${dir}" is not writable by this process (${code})`
        : `cannot use directory "${dir}" (${code ?? 'error'})`)
  }
  return dir
}
