// Every stdout line stays a whole JSON line and none is lost, also at exit, in one process
// (64 KiB writes, pino's lines and the access lines through one writer) and with two workers.
// Long request targets make each access line ~1.2 KiB. (Without the final flush this fails:
// ~100 access lines missing. The workers' 4 KiB limit rests on POSIX's PIPE_BUF guarantee;
// with a reader as fast as this one, 64 KiB writes did not interleave either, so that limit
// is not what this test proves.) Once with stdout a pipe (libuv's stream, drained before
// exit) and once with stdout a regular file (written on the spot), as `>> file` would give.
import { describe, expect, it } from 'vitest'
import http from 'node:http'
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { CLI, writeConfig, type RunningDaemon } from '../helpers/daemon.js'

const REQUESTS = 3000
const CONCURRENCY = 50
const QUERY = `?q=${'x'.repeat(1000)}`

/** REQUESTS GETs over CONCURRENCY keep-alive connections; resolves with the statuses seen. */
async function load(d: Pick<RunningDaemon, 'url'>): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const statuses = new Map<number, number>()
  let next = 0
  const one = (i: number): Promise<void> => new Promise((resolve, reject) => {
    http.get(d.url(`/r/${i}${QUERY}`), { agent }, (res) => {
      statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1)
      res.resume()
      res.on('end', resolve)
    }).on('error', reject)
  })
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) await one(next++)
  }))
  agent.destroy()
  return statuses
}

/** Stops the daemon and waits until its stdout is read to the end. */
async function stopAndDrain(d: RunningDaemon): Promise<void> {
  const closed = new Promise((resolve) => {
    if (d.proc.stdout!.readableEnded) resolve(null)
    else d.proc.stdout!.once('close', resolve)
  })
  await d.stop()
  await closed
}

describe('log lines', () => {
  const scope = closeAfterEach()

  it.each([
    ['one process', ''],
    ['two workers', 'workers: 2'],
  ])('%s: every line whole, one access line per request, the last line last', async (_name, top) => {
    const backend = await scope.backend('app')
    const d = await scope.daemon(oneUpstream([backend.url], '', top))
    const statuses = await load(d)
    expect([...statuses]).toEqual([[200, REQUESTS]])
    await stopAndDrain(d)

    expect(d.logs.filter((l) => String(l.msg).startsWith('(not JSON)'))).toEqual([])
    expectEveryLine(d.logs, top !== '')
  }, 60_000)

  it.each([
    ['one process', ''],
    ['two workers', 'workers: 2'],
  ])('stdout a regular file, %s: every line whole, one access line per request, the last line last', async (_name, top) => {
    const backend = await scope.backend('app')
    const out = join(mkdtempSync(join(tmpdir(), 'switchyard-stdout-')), 'out.log')
    const fd = openSync(out, 'a')
    const proc = spawn(process.execPath, [CLI, '--config', writeConfig(oneUpstream([backend.url], '', top))], {
      env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', fd, 'inherit'],
    })
    closeSync(fd)
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    try {
      const lines = (): Record<string, unknown>[] => readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      let port: number | undefined
      for (let i = 0; i < 200 && port === undefined; i++) {
        await sleep(25)
        port = lines().find((l) => l.msg === 'listening')?.port as number | undefined
      }
      expect(port).toBeTypeOf('number')
      const statuses = await load({ url: (path = '/') => `http://127.0.0.1:${port}${path}` })
      expect([...statuses]).toEqual([[200, REQUESTS]])
      proc.kill('SIGTERM')
      await exited
      expectEveryLine(lines(), top !== '') // JSON.parse above throws on a torn line
    } finally {
      proc.kill('SIGKILL')
    }
  }, 60_000)
})

function expectEveryLine(logs: Record<string, unknown>[], workers: boolean): void {
  const access = logs.filter((l) => l.kind === 'access')
  expect(access).toHaveLength(REQUESTS)
  expect(new Set(access.map((l) => l.path)).size).toBe(REQUESTS)
  if (workers) expect(new Set(access.map((l) => l.pid)).size).toBe(2) // both workers wrote
  // The primary's (or the process's) own last words come after every access line.
  expect(logs.at(-1)?.msg).toBe('stopped')
}
