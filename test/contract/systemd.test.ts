// docs/operations.md#lifecycle: config/switchyard.service, the systemd unit. No systemd runs here, so
// the unit is checked three ways:
// - `systemd-analyze verify` (Debian's `systemd` package) on a copy whose paths point at this
//   checkout (verify checks that each Exec*= binary exists): no warning about the unit;
//   `systemd-analyze security --offline` keeps its sandboxing score;
// - its text: check before SIGHUP on reload, Restart=on-failure, a non-root user, sandboxing;
// - its command lines, run the way systemd runs them (Environment= and $MAINPID substituted,
//   ExecReload= lines in order, stopping at the first failure) against the real daemon
//   started from its ExecStart= line: a bad file never reaches the daemon, a good one does.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { closeAfterEach } from '../helpers/scope.js'
import { oneUpstream } from '../helpers/config.js'
import { request } from '../helpers/client.js'
import { scrape, seriesValue } from '../helpers/metrics.js'
import { needTool } from '../helpers/tools.js'

const ROOT = resolve(import.meta.dirname, '../..')
const UNIT_FILE = join(ROOT, 'config/switchyard.service')
const UNIT = readFileSync(UNIT_FILE, 'utf8')

const BAD = `listeners:
  - port: 70000
upstreams:
  app:
    sevrers: []
`

// ---- a small reader of unit files and of systemd command lines ----

interface Directive { section: string; key: string; value: string }

/** Directives in order; comments (`#`, `;`) skipped, backslash continuations joined. */
function parseUnit(text: string): Directive[] {
  const out: Directive[] = []
  let section = ''
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = pending + raw.trim()
    pending = ''
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `
      continue
    }
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      section = header[1]!
      continue
    }
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`not a directive: ${line}`)
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() })
  }
  return out
}

function values(unit: Directive[], key: string, section = 'Service'): string[] {
  return unit.filter((d) => d.section === section && d.key === key).map((d) => d.value)
}

function single(unit: Directive[], key: string, section = 'Service'): string | undefined {
  const v = values(unit, key, section)
  if (v.length > 1) throw new Error(`${key}= appears ${v.length} times`)
  return v[0]
}

/** Environment= assignments (unquoted `K=V` words only: this unit needs no more). */
function unitEnv(unit: Directive[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const v of values(unit, 'Environment')) {
    if (/["']/.test(v)) throw new Error(`quoted Environment= is not handled here: ${v}`)
    for (const word of v.split(/\s+/)) {
      const eq = word.indexOf('=')
      env[word.slice(0, eq)] = word.slice(eq + 1)
    }
  }
  return env
}

interface Command { argv: string[]; ignoreFailure: boolean; line: string }

/**
 * One Exec*= line as systemd runs it: prefixes (`-` = failure ignored), then words;
 * `${VAR}` becomes one word, a lone `$VAR` word is split on whitespace (systemd.service(5),
 * "Command lines"). Quoting is refused rather than half-handled.
 */
function commandLine(line: string, env: Record<string, string>): Command {
  const prefix = /^[-@:+!]*/.exec(line)![0]
  if (/["'\\]/.test(line)) throw new Error(`quoting is not handled here: ${line}`)
  const lookup = (name: string): string => {
    const v = env[name]
    if (v === undefined) throw new Error(`${line}: $${name} is not set`)
    return v
  }
  const argv = line.slice(prefix.length).trim().split(/\s+/).flatMap((word) => {
    const lone = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word)
    if (lone) return lookup(lone[1]!).split(/\s+/)
    return [word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => lookup(name))]
  })
  return { argv, ignoreFailure: prefix.includes('-'), line }
}

interface Ran { line: string; code: number | null; stderr: string }

/** Runs the lines in order as systemd does for ExecStartPre=/ExecReload=: stop at the first failure. */
function runSequence(lines: string[], env: Record<string, string>): Ran[] {
  const ran: Ran[] = []
  for (const line of lines) {
    const c = commandLine(line, env)
    const r = spawnSync(c.argv[0]!, c.argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 15_000 })
    ran.push({ line, code: r.status, stderr: r.stderr })
    if (r.status !== 0 && !c.ignoreFailure) break
  }
  return ran
}

/** Seconds of a systemd time span such as `40s`, `1min 30s`, `90`. */
function seconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 }
  let total = 0
  for (const m of span.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) {
    const unit = units[m[2]!]
    if (unit === undefined) throw new Error(`unknown unit in ${span}`)
    total += Number(m[1]) * unit
  }
  return total
}

// ---- the unit, pointed at this checkout ----

const tmpDirs: string[] = []
afterEach(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Installed { dir: string; file: string; text: string; unit: Directive[]; configFile: string }

/**
 * A copy of the unit in a temp dir, as installed on this machine: /usr/bin/node is this
 * node, /opt/switchyard this checkout, /etc/switchyard a temp dir (holding `configYaml`).
 */
function install(configYaml = ''): Installed {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-systemd-'))
  tmpDirs.push(dir)
  for (const p of [process.execPath, ROOT, dir]) {
    if (/\s|[$%"'\\]/.test(p)) throw new Error(`path not usable in a unit file: ${p}`)
  }
  const text = UNIT
    .replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('/opt/switchyard', ROOT)
    .replaceAll('/etc/switchyard', dir)
  const file = join(dir, 'switchyard.service')
  writeFileSync(file, text)
  const configFile = join(dir, 'switchyard.yaml')
  writeFileSync(configFile, configYaml)
  return { dir, file, text, unit: parseUnit(text), configFile }
}

function analyze(args: string[]): { code: number | null; output: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: 'cat' } })
  return { code: r.status, output: `${r.stdout}${r.stderr}` }
}

/** `systemd-analyze verify` output lines about this unit (it may also warn about the host's own units). */
function verify(file: string): { code: number | null; ours: string[]; output: string } {
  const r = analyze(['verify', '--man=no', file])
  return { ...r, ours: r.output.split('\n').filter((l) => l.includes('switchyard')) }
}

describe('config/switchyard.service', () => {
  it('systemd-analyze verify: no warning about the unit', (ctx) => {
    needTool(ctx, 'systemd-analyze', 'systemd')
    const u = install(oneUpstream(['http://127.0.0.1:3001']))
    const r = verify(u.file)
    expect(r.ours, r.output).toEqual([])
    expect(r.code, r.output).toBe(0)

    // The filter is not vacuous: a misspelt key in the same copy is reported.
    writeFileSync(u.file, u.text.replace('RestrictRealtime=yes', 'RestrictRealtme=yes'))
    expect(verify(u.file).ours.join('\n')).toMatch(/RestrictRealtme/)
  })

  it('systemd-analyze security --offline: exposure stays at most 3.5 ("OK")', (ctx) => {
    needTool(ctx, 'systemd-analyze', 'systemd')
    const version = Number(/systemd (\d+)/.exec(analyze(['--version']).output)?.[1] ?? 0)
    if (version < 250) ctx.skip(`systemd-analyze ${version} has no security --offline (systemd >= 250)`)
    const u = install()
    const r = analyze(['security', '--offline=true', '--threshold=35', '--no-pager', u.file])
    expect(r.code, r.output).toBe(0)
    expect(r.output).toMatch(/Overall exposure level for switchyard\.service: [0-3]\.\d/)
  })

  it('reload checks the file, then signals; start checks first; restarts on failure; sandboxed', () => {
    const unit = parseUnit(UNIT)
    const env = unitEnv(unit)
    expect(env.SWITCHYARD_CONFIG).toBe('/etc/switchyard/switchyard.yaml')

    const start = single(unit, 'ExecStart')!
    const words = (line: string): string[] => commandLine(line, env).argv
    expect(words(start)).toEqual(['/usr/bin/node', '/opt/switchyard/dist/cli.js', 'run', '--config', '/etc/switchyard/switchyard.yaml'])
    // The check runs the same node, the same code and the same file as the daemon.
    const check = words(start).map((w) => (w === 'run' ? 'check' : w))

    const pre = values(unit, 'ExecStartPre')
    expect(pre.map(words)).toEqual([check])

    const reload = values(unit, 'ExecReload')
    expect(reload).toHaveLength(2)
    expect(words(reload[0]!)).toEqual(check)
    expect(commandLine(reload[0]!, env).ignoreFailure).toBe(false) // a `-` prefix would let a bad file through
    expect(reload[1]).toMatch(/^\/(usr\/)?bin\/kill -HUP \$MAINPID$/)

    // Started = ready: the daemon runs systemd-notify (a child process, hence NotifyAccess=all).
    expect(single(unit, 'Type')).toBe('notify')
    expect(single(unit, 'NotifyAccess')).toBe('all')
    expect(single(unit, 'Restart')).toBe('on-failure')
    expect(single(unit, 'KillSignal')).toBe('SIGTERM')
    // Longer than the default shutdown_timeout (30s), so a drain is not cut by SIGKILL.
    expect(seconds(single(unit, 'TimeoutStopSec')!)).toBeGreaterThan(30)
    expect(single(unit, 'DynamicUser') === 'yes' || /^(?!root$)\S+$/.test(single(unit, 'User') ?? '')).toBe(true)
    expect(single(unit, 'NoNewPrivileges')).toBe('yes')
    expect(single(unit, 'ProtectSystem')).toBe('strict')
    expect(single(unit, 'ProtectHome')).toBe('yes')
    expect(single(unit, 'PrivateTmp')).toBe('yes')
    expect(single(unit, 'CapabilityBoundingSet')).toBe('') // none; the unit says how to allow ports < 1024
    expect(single(unit, 'AmbientCapabilities')).toBeUndefined()
    expect(single(unit, 'MemoryDenyWriteExecute')).toBeUndefined() // V8's JIT needs W+X pages
    expect(single(unit, 'WantedBy', 'Install')).toBe('multi-user.target')
  })

  it('the ExecReload= check line exits 1 on a bad file and 0 on a good one', () => {
    const u = install(BAD)
    const env = unitEnv(u.unit)
    expect(env.SWITCHYARD_CONFIG).toBe(u.configFile)
    const [checkLine] = values(u.unit, 'ExecReload')
    const bad = runSequence([checkLine!], env)
    expect(bad).toMatchObject([{ code: 1 }])
    expect(bad[0]!.stderr).toMatch(/upstreams\.app\.sevrers: .*unknown key/)
    writeFileSync(u.configFile, oneUpstream(['http://127.0.0.1:3001']))
    expect(runSequence([checkLine!], env)).toMatchObject([{ code: 0 }])
  })

  describe('the unit\'s command lines against the real daemon', () => {
    const { backend, defer } = closeAfterEach()

    /** Starts ExecStart= as systemd would (its Environment= only) and waits for "ready". */
    async function execStart(u: Installed): Promise<{ proc: ChildProcess; port: number; adminPort: number; exited: Promise<number | null> }> {
      const c = commandLine(single(u.unit, 'ExecStart')!, unitEnv(u.unit))
      const proc = spawn(c.argv[0]!, c.argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...unitEnv(u.unit) }, stdio: ['ignore', 'pipe', 'pipe'] })
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
      defer({ close: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited } })
      let stderr = ''
      proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
      const ports: Record<string, number> = {}
      await new Promise<void>((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no "ready" log line in 10 s; stderr: ${stderr}`)), 10_000)
        void exited.then((code) => { clearTimeout(t); fail(new Error(`daemon exited (${code}); stderr: ${stderr}`)) })
        createInterface({ input: proc.stdout! }).on('line', (line) => {
          let l: { msg?: string; port?: number }
          try { l = JSON.parse(line) as typeof l } catch { return }
          if (l.msg === 'listening' || l.msg === 'admin listening') ports[l.msg] ??= Number(l.port)
          if (l.msg === 'ready') { clearTimeout(t); ok() }
        })
      })
      return { proc, port: ports.listening!, adminPort: ports['admin listening']!, exited }
    }

    async function reloads(adminPort: number): Promise<{ success: number; failure: number }> {
      const text = await scrape(`http://127.0.0.1:${adminPort}`)
      const v = (result: string): number => seriesValue(text, 'switchyard_config_reloads_total', { result }) ?? NaN
      return { success: v('success'), failure: v('failure') }
    }

    it('systemctl reload with a bad file never signals the daemon; with a good one it reloads', async () => {
      const a = await backend('a')
      const b = await backend('b')
      const u = install(oneUpstream([a.url]))
      const env = unitEnv(u.unit)
      expect(runSequence(values(u.unit, 'ExecStartPre'), env).map((r) => r.code)).toEqual([0])
      const d = await execStart(u)
      const via = async (): Promise<string> => (await request(`http://127.0.0.1:${d.port}/`)).body
      expect(await via()).toBe('a')
      const reloadLines = values(u.unit, 'ExecReload')
      const withPid = { ...env, MAINPID: String(d.proc.pid) }

      // A bad file: the check fails, the kill line never runs, the daemon saw nothing
      // (had it got SIGHUP it would have counted a failed reload) and still serves.
      writeFileSync(u.configFile, BAD)
      const bad = runSequence(reloadLines, withPid)
      expect(bad.map((r) => r.code)).toEqual([1])
      expect(await reloads(d.adminPort)).toEqual({ success: 0, failure: 0 })
      expect(await via()).toBe('a')

      // A good file: check, then SIGHUP; the daemon applies it.
      writeFileSync(u.configFile, oneUpstream([b.url]))
      const good = runSequence(reloadLines, withPid)
      expect(good.map((r) => r.code)).toEqual([0, 0])
      const until = Date.now() + 5000
      while ((await reloads(d.adminPort)).success !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
      expect(await reloads(d.adminPort)).toEqual({ success: 1, failure: 0 })
      expect(await via()).toBe('b')

      // KillSignal=: a graceful stop, exit 0.
      d.proc.kill(single(u.unit, 'KillSignal') as NodeJS.Signals)
      expect(await d.exited).toBe(0)
    })
  })
})
