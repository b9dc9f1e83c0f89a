// Bytes in/out of one request, from the client socket's counters: the delta since the
// previous request on the same keep-alive socket (like nginx's $request_length and
// $bytes_sent: heads included). No per-chunk counting on the data path.
import type { Socket } from 'node:net'

const kSeen = Symbol('switchyard.bytes')
type Counted = Socket & { [kSeen]?: { read: number; written: number } }

export interface ByteCounts {
  readonly in: number
  readonly out: number
}

export function takeByteCounts(socket: Socket): ByteCounts {
  const s = socket as Counted
  const seen = (s[kSeen] ??= { read: 0, written: 0 })
  const read = s.bytesRead
  const written = s.bytesWritten
  const counts = { in: read - seen.read, out: written - seen.written }
  seen.read = read
  seen.written = written
  return counts
}
