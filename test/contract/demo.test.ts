// docs/operations.md: `npm run demo` — three demo backends and switchyard on :8080; curl
// shows the backends in turn. Uses the demo's fixed ports (8080, 9090, 3001-3003).
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import net from 'node:net'
import { resolve } from 'node:path'
import { request, sleep } from '../helpers/client.js'

const DEMO = resolve(import.meta.dirname, '../../dist/demo.js')

const portFree = (port: number): Promise<boolean> => new Promise((done) => {
  const s = net.createServer().once('error', () => done(false)).listen(port, '0.0.0.0', () => s.close(() => done(true)))
})

describe('npm run demo', () => {
  it('serves the three demo backends in turn on :8080 and stops on Ctrl-C', async (t) => {
    const busy = []
    for (const p of [8080, 9090, 3001, 3002, 3003]) if (!(await portFree(p))) busy.push(p)
    if (busy.length > 0) t.skip(`ports in use here: ${busy.join(', ')}`)

    const demo = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    demo.stdout.on('data', (d: Buffer) => { out += d.toString() })
    demo.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)))
    try {
      for (let i = 0; i < 50 && !out.includes('"msg":"ready"'); i++) await sleep(100)
      const names: string[] = []
      for (let i = 0; i < 6; i++) names.push((await request('http://127.0.0.1:8080/')).body.trim())
      expect(names).toEqual(['backend-1', 'backend-2', 'backend-3', 'backend-1', 'backend-2', 'backend-3'])
    } finally {
      demo.kill('SIGINT')
    }
    expect(await exited).toBe(0)
    expect(out).toContain('"msg":"stopped"')
  })
})
