// `error_pages: { 503: /srv/errors/503.html, ... }` (top level and per route): the pages of
// the answers switchyard gives itself, read once at config load (a reload reads them again).
// A missing file or one over 1 MiB is a config error with its key path: a page that fails at
// the first outage is worse than a daemon that refuses the config.
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { describe } from './problems.js'
import type { Cursor } from './fields.js'
import { ERROR_PAGE_STATUSES, type ErrorPagesConfig } from './policy-types.js'

const MAX_PAGE = 1024 * 1024

export function readErrorPages(c: Cursor): ErrorPagesConfig | null {
  if (c.absent) return null
  if (!(c.value instanceof Map)) {
    c.report(`must be a map of status code to an HTML file, such as { 503: /srv/errors/503.html } (got ${describe(c.value)})`)
    return null
  }
  const pages = new Map<number, Buffer>()
  for (const [key, value] of c.value) {
    const at = c.field(key)
    const status = typeof key === 'number' ? key : typeof key === 'string' && /^\d{3}$/.test(key) ? Number(key) : NaN
    if (!(ERROR_PAGE_STATUSES as readonly number[]).includes(status)) {
      c.problems.atKey(at.path, `${String(key)} is not a status switchyard answers itself; pages can be given for ${ERROR_PAGE_STATUSES.join(', ')}`)
      continue
    }
    if (typeof value !== 'string' || value === '') {
      at.report(`must be the path of an HTML file (got ${describe(value)})`)
      continue
    }
    if (!isAbsolute(value)) {
      at.report(`must be an absolute path (got "${value}")`)
      continue
    }
    try {
      const st = statSync(value)
      if (!st.isFile()) at.report(`"${value}" is not a file`)
      else if (st.size > MAX_PAGE) at.report(`"${value}" is larger than 1 MiB (${st.size} bytes): an error page must be small`)
      else pages.set(status, readFileSync(value))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      at.report(code === 'ENOENT' ? `file "${value}" does not exist` : `cannot read "${value}" (${code ?? 'error'})`)
    }
  }
  return pages
}
