// systemd's Type=notify (config/switchyard.service): under a service manager (NOTIFY_SOCKET
// set) the daemon says READY=1 once every listener accepts (with workers: in every worker)
// and STOPPING=1 when a drain begins, through systemd-notify. The manager's socket is played
// by a small python3 reader of the AF_UNIX datagram socket (Node has none), which prints
// each message.
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'
import { needTool } from '../helpers/tools.js'

const READER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
`

describe.each([1, 2])('workers: %i', (workers) => {
  const scope = closeAfterEach()

  it('READY=1 once the public port answers, STOPPING=1 when the drain begins', async (ctx) => {
    needTool(ctx, 'systemd-notify', 'systemd')
    needTool(ctx, 'python3', 'python3')
    const socketPath = join(mkdtempSync(join(tmpdir(), 'switchyard-notify-')), 'notify.sock')
    const reader = spawn('python3', ['-c', READER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] })
    scope.defer({ close: async () => { reader.kill() } })
    const messages: string[] = []
    const waiters: (() => void)[] = []
    createInterface({ input: reader.stdout! }).on('line', (line) => {
      messages.push(line)
      for (const w of waiters.splice(0)) w()
    })
    const until = async (what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`no ${what}; messages: ${JSON.stringify(messages)}`)
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 200) })
      }
    }
    await until('listening reader', () => messages.includes('listening'))

    const backend = await scope.backend('A')
    const d = await scope.daemon(oneUpstream([backend.url], '', `workers: ${workers}`), { NOTIFY_SOCKET: socketPath })
    await until('READY=1', () => messages.some((m) => m.includes('READY=1')))
    const ready = messages.find((m) => m.includes('READY=1'))!
    expect(ready).toContain(`MAINPID=${d.proc.pid}`)
    // The main process says it (MAINPID above) once the public port answers.
    expect((await request(d.url('/'))).body).toBe('A')

    d.proc.kill('SIGTERM')
    await until('STOPPING=1', () => messages.some((m) => m.includes('STOPPING=1')))
    expect(await d.exited).toBe(0)
    expect(messages.filter((m) => m.includes('READY=1'))).toHaveLength(1)
  })
})
