// docs/operations.md: the command line.
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { runCli, startDaemon, writeConfig } from '../helpers/daemon.js'
import { startBackend } from '../helpers/backends.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'

const BAD = `listeners:
  - port: 70000
upstreams:
  app:
    sevrers: []
    balance: fastest
`

describe('cli', () => {
  it('check prints ok for a valid config', async () => {
    const r = await runCli(['check', '--config', writeConfig(oneUpstream(['http://127.0.0.1:3001']))])
    expect(r).toMatchObject({ code: 0, stdout: 'ok\n' })
  })

  it('check lists every problem with its key path and line, exit 1', async () => {
    const r = await runCli(['check', '-c', writeConfig(BAD)])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/listeners\.0\.port: .*\(line 2\)/)
    expect(r.stderr).toMatch(/upstreams\.app\.sevrers: .*unknown key.*\(line 5\)/)
    expect(r.stderr).toMatch(/upstreams\.app\.balance: .*\(line 6\)/)
  })

  it('the daemon refuses a bad config the same way: exit 1, same messages', async () => {
    const file = writeConfig(BAD)
    const check = await runCli(['check', '--config', file])
    const run = await runCli(['--config', file])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(check.stderr)
  })

  it('a missing file is a clear error', async () => {
    const r = await runCli(['check', '--config', '/nonexistent/switchyard.yaml'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/nonexistent\/switchyard\.yaml/)
    expect(r.stderr).toMatch(/ENOENT|no such file/)
  })

  it('SWITCHYARD_CONFIG names the default file', async () => {
    const r = await runCli(['check'], { SWITCHYARD_CONFIG: writeConfig(BAD) })
    expect(r.code).toBe(1)
  })

  it('--version and --help', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `switchyard ${pkg.version}\n` })
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/switchyard check/)
  })

  it('schema prints the JSON Schema of the config: config/switchyard.schema.json, byte for byte', async () => {
    const r = await runCli(['schema'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', required: ['listeners', 'upstreams'] })
    expect(r.stdout === readFileSync(new URL('../../config/switchyard.schema.json', import.meta.url), 'utf8'), 'config/switchyard.schema.json is stale: npm run build && npm run schema').toBe(true)
    expect((await runCli(['schema', 'extra'])).code).toBe(2)
  })

  it('an unknown option or command is a usage error (exit 2)', async () => {
    expect((await runCli(['--nope'])).code).toBe(2)
    expect((await runCli(['frobnicate'])).code).toBe(2)
  })

  it('an unknown LOG_LEVEL is refused', async () => {
    const r = await runCli(['--config', writeConfig(oneUpstream(['http://127.0.0.1:3001']))], { LOG_LEVEL: 'loud' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/LOG_LEVEL/)
  })

  it('a listener port in use is a clear error, exit 1', async () => {
    const b = await startBackend('busy')
    try {
      const r = await runCli(['--config', writeConfig(oneUpstream([b.url]).replace('port: 0', `port: ${b.port}`))])
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/listeners\.0: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/)
    } finally {
      await b.close()
    }
  })

  it('logs pino JSON lines on stdout; LOG_LEVEL overrides log.level', async () => {
    const b = await startBackend('b')
    const d = await startDaemon(oneUpstream([b.url], '', 'log: { level: warn }'), { LOG_LEVEL: 'info' })
    try {
      expect(d.logs.find((l) => l.msg === 'listening')).toMatchObject({ level: 'info', listener: 'public' })
    } finally {
      expect(await d.stop()).toBe(0)
      await b.close()
    }
  })

  it('log.access_log: false writes no request lines', async () => {
    const b = await startBackend('b')
    const d = await startDaemon(oneUpstream([b.url], '', 'log: { access_log: false }'))
    try {
      expect((await request(d.url('/quiet'))).status).toBe(200)
      expect(await d.stop()).toBe(0)
      expect(d.logs.some((l) => l.msg === 'request')).toBe(false)
      expect(d.logs.some((l) => l.msg === 'stopped')).toBe(true)
    } finally {
      await b.close()
    }
  })
})
