// `npm run demo`: three demo backends on 127.0.0.1:3001-3003, each answering with its own
// name, and the real daemon (config/switchyard.yaml) in front of them on :8080.
// Ctrl-C stops all of it.
import http from 'node:http'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const NAMES = ['backend-1', 'backend-2', 'backend-3']
const FIRST_PORT = 3001

async function startBackend(name: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name })
    res.end(`${name}\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`demo backend ${name}: cannot listen on 127.0.0.1:${port}: ${err.code}`)))
    server.listen(port, '127.0.0.1', resolve)
  })
  return server
}

async function main(): Promise<void> {
  const backends = await Promise.all(NAMES.map((n, i) => startBackend(n, FIRST_PORT + i)))
  process.stderr.write(`demo backends: ${NAMES.map((n, i) => `${n} on 127.0.0.1:${FIRST_PORT + i}`).join(', ')}\n`)
  process.stderr.write('switchyard: http://localhost:8080  (try: curl -s localhost:8080)  admin: http://127.0.0.1:9090\n')
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url))
  const config = fileURLToPath(new URL('../config/switchyard.yaml', import.meta.url))
  // The daemon gets its own process group, so Ctrl-C reaches it once, through us: a second
  // signal would make it skip the graceful drain.
  const daemon = spawn(process.execPath, [cli, '--config', config], { stdio: 'inherit', detached: true })
  const stop = (): void => { daemon.kill('SIGTERM') }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  daemon.once('exit', (code) => {
    for (const b of backends) b.close()
    for (const b of backends) b.closeAllConnections()
    process.exitCode = code ?? 0
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
