// `upstreams.<name>.queue` (issue #16 item 3): where requests wait when every server is at
// its `servers[].max_requests`. Kept apart from upstreams.ts so its rules read in one
// place: a queue only makes sense next to a cap, so a queue on an upstream where no server
// has max_requests is refused rather than silently doing nothing.

import { DEFAULTS } from './defaults.js'
import { checkMap, readDuration, readInt } from './fields.js'
import type { Cursor } from './fields.js'
import type { QueueConfig } from './types.js'

const QUEUE_KEYS = ['size', 'timeout']
const MAX_QUEUE = 1_000_000

/** Absent -> no queue (every server full: 503 at once); `queue: {}` -> the defaults. */
export function readQueue(c: Cursor, servers: readonly { readonly maxRequests: number }[], serversValid: boolean): QueueConfig | null {
  if (c.absent) return null
  if (!checkMap(c, QUEUE_KEYS) || !(c.value instanceof Map)) return null
  const d = DEFAULTS.queue
  const queue = {
    size: readInt(c.field('size'), { min: 1, max: MAX_QUEUE }, d.size),
    timeoutMs: readDuration(c.field('timeout'), d.timeoutMs),
  }
  if (serversValid && servers.length > 0 && servers.every((s) => s.maxRequests === 0)) {
    c.report('needs a server with max_requests: requests wait here only when every server is at its max_requests (set servers[].max_requests)')
  }
  return queue
}
