// Bytes read from the client for one request: the delta of the socket's read counter since
// the previous request on the same keep-alive socket (like nginx's $request_length: head
// included). Bytes sent are counted by the caller as body chunks pass (nginx's
// $body_bytes_sent): Node's socket.bytesWritten walks the socket's write queue on every
// read, which cost ~3% of throughput on 64 KiB responses.
import type { Socket } from 'node:net'

const kSeen = Symbol('switchyard.bytesRead')
type Counted = Socket & { [kSeen]?: number }

export function takeBytesRead(socket: Socket): number {
  const s = socket as Counted
  const read = s.bytesRead
  const n = read - (s[kSeen] ?? 0)
  s[kSeen] = read
  return n
}
