// The whole document: top-level keys, each section read by its own module, in file order.

import { DEFAULTS } from './defaults.js'
import { checkMap, readBool, readDuration, readEnum } from './fields.js'
import type { Cursor } from './fields.js'
import { readAdmin, readListeners } from './listeners.js'
import { describe } from './problems.js'
import { readCaches } from './caches.js'
import { readRoutes } from './routes.js'
import { readErrorPages } from './error-pages.js'
import { ACCESS_LOG_FORMATS, LOG_LEVELS, type Config, type LogConfig } from './types.js'
import { readUpstreams } from './upstreams.js'

/** More worker processes than this is a typo, not a plan (each one is a Node.js process). */
const MAX_WORKERS = 256
const TOP_KEYS = ['listeners', 'admin', 'workers', 'shutdown_timeout', 'log', 'upstreams', 'caches', 'routes', 'error_pages']
const LOG_KEYS = ['level', 'access_log', 'access_log_format']

/**
 * Reads a config document (a map) into a Config. Problems go to the cursor's collector;
 * the returned object is only meaningful when none were found.
 */
export function compileConfig(root: Cursor): Config {
  checkMap(root, TOP_KEYS)
  const listeners = readListeners(root.field('listeners'))
  const { upstreams, names } = readUpstreams(root.field('upstreams'))
  const caches = readCaches(root.field('caches'))
  return {
    listeners,
    admin: readAdmin(root.field('admin'), listeners),
    workers: readWorkers(root.field('workers')),
    shutdownTimeoutMs: readDuration(root.field('shutdown_timeout'), DEFAULTS.shutdownTimeoutMs),
    log: readLog(root.field('log')),
    upstreams,
    caches: caches.caches,
    routes: readRoutes(root.field('routes'), names, caches.names),
    errorPages: readErrorPages(root.field('error_pages')),
  }
}

function readWorkers(c: Cursor): number | 'auto' {
  if (c.absent) return DEFAULTS.workers
  const v = c.value
  if (v === 'auto' || (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_WORKERS)) return v
  c.report(`must be an integer from 1 to ${MAX_WORKERS} or "auto" for one worker per CPU (got ${describe(v)})`)
  return DEFAULTS.workers
}

function readLog(c: Cursor): LogConfig {
  checkMap(c, LOG_KEYS)
  return {
    level: readEnum(c.field('level'), LOG_LEVELS, DEFAULTS.logLevel),
    accessLog: readBool(c.field('access_log'), DEFAULTS.accessLog),
    accessLogFormat: readEnum(c.field('access_log_format'), ACCESS_LOG_FORMATS, DEFAULTS.accessLogFormat),
  }
}
