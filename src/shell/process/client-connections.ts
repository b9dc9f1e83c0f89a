// listeners[].max_connections_per_client: at most N open connections per client address on
// one listener, counted per process (with workers, per worker: N per worker). Connection
// level, so the address is the TCP peer's: behind a proxy every client shares the proxy's
// address (leave it 0 there). A connection over the cap is closed as it arrives, before a
// byte is read. The table holds only addresses with open connections.
import type { Server, Socket } from 'node:net'

export function capConnectionsPerClient(server: Server, max: number): void {
  if (max <= 0) return
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const n = open.get(address) ?? 0
    if (n >= max) {
      socket.destroy()
      return
    }
    open.set(address, n + 1)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
