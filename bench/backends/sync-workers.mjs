// A "gunicorn -k sync -w N" stand-in for bench/slow-clients.mjs (issue #16): at most N
// requests are served at a time; the others wait, unread, for a free worker. A worker reads
// the whole body at the client's pace, answers, and closes the connection, as a sync worker
// does. The same server as test/helpers/sync-workers.ts, as a process of its own.
// Usage: node bench/backends/sync-workers.mjs PORT [WORKERS=2]
import http from 'node:http'

const port = Number(process.argv[2])
const workers = Number(process.argv[3] ?? 2)
const queue = []
let busy = 0

function next() {
  while (busy < workers && queue.length > 0) {
    const [req, res] = queue.shift()
    busy++
    let freed = false
    const free = () => {
      if (freed) return
      freed = true
      busy--
      next()
    }
    res.once('finish', free)
    res.once('close', free)
    res.shouldKeepAlive = false
    let bytes = 0
    req.on('data', (c) => { bytes += c.length })
    req.on('error', () => res.destroy())
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(req.method === 'POST' ? `got ${bytes}\n` : 'ok\n')
    })
    req.resume()
  }
}

const server = http.createServer((req, res) => {
  req.pause()
  queue.push([req, res])
  next()
})
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
