// docs/operations.md#lifecycle: the Dockerfile builds a small non-root image. No Docker engine runs
// here, so this replays the Dockerfile itself, step by step, in temp dirs: each stage is a
// directory standing for its filesystem root (the base image node:24-slim is this Node 24
// at /usr/local/bin/node); COPY takes from the build context filtered by .dockerignore or
// from an earlier stage; RUN runs the command in the stage's WORKDIR (npm with the local
// cache, --prefer-offline). Then the final stage runs as its USER (uid 1000 when we are
// root), its CMD with its ENV, in its WORKDIR, behind a real backend; its HEALTHCHECK
// passes (and fails once the daemon is gone); its STOPSIGNAL stops it with exit 0.
// An instruction or flag the replay does not know fails the test: extend it, never skip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import {
  chmodSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync,
  readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, normalize, posix, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import YAML from 'yaml'
import { startBackend, type Backend } from '../helpers/backends.js'
import { request } from '../helpers/client.js'
import { inCI } from '../helpers/tools.js'

const ROOT = resolve(import.meta.dirname, '../..')
const REPLAY_TIMEOUT_MS = 240_000

// ---- Dockerfile and .dockerignore ----

interface Instruction { op: string; args: string; line: number }
interface StageSpec { name: string; image: string; steps: Instruction[] }

/** Instructions by stage; comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): StageSpec[] {
  const stages: StageSpec[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1
    let line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    while (line.endsWith('\\')) {
      line = line.slice(0, -1)
      i++
      while (i < lines.length && lines[i]!.trim().startsWith('#')) i++
      if (i >= lines.length) break
      line += ` ${lines[i]!.trim()}`
    }
    const m = /^(\S+)\s*(.*)$/.exec(line)!
    const op = m[1]!.toUpperCase()
    const args = m[2]!.trim()
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (!f) throw new Error(`Dockerfile:${first}: FROM ${args}: not replayed`)
      stages.push({ image: f[1]!, name: f[2] ?? String(stages.length), steps: [] })
      continue
    }
    const stage = stages.at(-1)
    if (stage === undefined) throw new Error(`Dockerfile:${first}: ${op} before FROM`)
    stage.steps.push({ op, args, line: first })
  }
  return stages
}

/** The exec form (`["a", "b"]`) or, with shell = true, the shell form wrapped in `/bin/sh -c`. */
function execForm(args: string, where: string, shell = false): string[] {
  if (args.startsWith('[')) {
    const a = JSON.parse(args) as unknown
    if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) throw new Error(`${where}: not a JSON array of strings`)
    return a as string[]
  }
  if (!shell) throw new Error(`${where}: use the exec form (["node", ...]): the shell form is not replayed`)
  return ['/bin/sh', '-c', args]
}

/** Leading `--name=value` flags of an instruction, and the rest. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const out: Record<string, string> = {}
  let rest = args
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    out[m[1]!] = m[2]!
    rest = rest.slice(m[0].length)
  }
  return { flags: out, rest: rest.trim() }
}

/** Go-style duration (`10s`, `1m30s`, `500ms`) in ms. */
function durationMs(s: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  const rest = s.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_all, n: string, u: string) => { total += Number(n) * unit[u]!; return '' })
  if (rest !== '' || total === 0) throw new Error(`not a duration: ${s}`)
  return total
}

/**
 * .dockerignore as Docker reads it: patterns relative to the context root, `*` and `?`
 * within one path segment, `**` across segments, `!` re-includes, the last match wins; a
 * path is excluded when it or one of its parent directories matches.
 */
function dockerignore(text: string): (rel: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!')
    const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '')
    const re = pattern.split(/(\*\*\/|\*\*|\*|\?)/).map((part) => {
      if (part === '**/') return '(?:.*/)?'
      if (part === '**') return '.*'
      if (part === '*') return '[^/]*'
      if (part === '?') return '[^/]'
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }).join('')
    return { negate, re: new RegExp(`^${re}$`) }
  })
  return (rel: string): boolean => {
    const segs = rel.split('/')
    let excluded = false
    for (const r of rules) {
      for (let n = 1; n <= segs.length; n++) {
        if (r.re.test(segs.slice(0, n).join('/'))) {
          excluded = !r.negate
          break
        }
      }
    }
    return excluded
  }
}

// ---- replaying a stage ----

interface Stage {
  readonly name: string
  /** The directory standing for this stage's `/`. */
  readonly root: string
  workdir: string
  env: Record<string, string>
  user: string
  expose: number[]
  stopSignal: string
  healthcheck?: { argv: string[]; timeoutMs: number }
  cmd: string[]
}

/** node:24-slim's PATH, and its `node` user's uid/gid. */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const NODE_UID = 1000

const inRoot = (s: Stage, p: string): string => join(s.root, isAbsolute(p) ? p : join(s.workdir, p))

/** The stage's PATH mapped into its root (so `node` is the base image's), then the host's. */
function stagePath(s: Stage): string {
  return [...(s.env.PATH ?? IMAGE_PATH).split(':').map((d) => join(s.root, d)), process.env.PATH ?? ''].join(':')
}

/** ENV values that are absolute paths point into the stage's root. */
function stageEnv(s: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(s.env)) env[k] = k !== 'PATH' && v.startsWith('/') ? join(s.root, v) : v
  return { ...env, PATH: stagePath(s) }
}

/** FROM node:24-slim: this node as /usr/local/bin/node, a /home/node. */
function baseImage(name: string, image: string, dir: string): Stage {
  if (!/^node:24(-slim)?$/.test(image)) throw new Error(`FROM ${image}: the replay stands in only for node:24-slim`)
  const root = join(dir, `stage-${name}`)
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true })
  mkdirSync(join(root, 'home/node'), { recursive: true })
  const node = join(root, 'usr/local/bin/node')
  try {
    linkSync(process.execPath, node)
  } catch {
    copyFileSync(process.execPath, node)
    chmodSync(node, 0o755)
  }
  return { name, root, workdir: '/', env: { PATH: IMAGE_PATH }, user: 'root', expose: [], stopSignal: 'SIGTERM', cmd: ['node'] }
}

interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

function run(argv: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs: number; uid?: number }): Promise<Ran> {
  return new Promise((ok, fail) => {
    const t0 = Date.now()
    const ids = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }
    const p = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], ...ids })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs)
    p.once('error', (e) => { clearTimeout(timer); fail(e) })
    p.once('close', (code, signal) => { clearTimeout(timer); ok({ code, signal, stdout, stderr, ms: Date.now() - t0 }) })
  })
}

/** The environment a RUN step gets: the stage's ENV, plus what npm needs from the host (cache, proxy). */
function runEnv(s: Stage): Record<string, string> {
  const host: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && /^(HOME|TMPDIR|npm_config_(cache|registry|userconfig)|(https?|no)_proxy|(HTTPS?|NO)_PROXY)$/.test(k)) host[k] = v
  }
  // The replay's stand-in for a BuildKit cache mount: the local npm cache, network only for misses.
  return { ...host, ...stageEnv(s), npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }
}

interface Replayed { stages: Map<string, Stage>; final: Stage; steps: { line: number; what: string; ms: number }[] }

async function replay(dockerfile: string, ignoreText: string, dir: string): Promise<Replayed> {
  const ignored = dockerignore(ignoreText)
  const stages = new Map<string, Stage>()
  const steps: Replayed['steps'] = []
  let s: Stage | undefined
  for (const spec of parseDockerfile(dockerfile)) {
    s = baseImage(spec.name, spec.image, dir)
    stages.set(spec.name, s)
    for (const step of spec.steps) {
      const where = `Dockerfile:${step.line}: ${step.op}`
      const t0 = Date.now()
      switch (step.op) {
        case 'WORKDIR':
          s.workdir = posix.resolve(s.workdir, step.args)
          mkdirSync(inRoot(s, s.workdir), { recursive: true })
          break
        case 'ENV': {
          const words = step.args.split(/\s+/)
          if (/["']/.test(step.args) || !words.every((w) => /^[A-Za-z_][A-Za-z0-9_]*=\S*$/.test(w))) throw new Error(`${where} ${step.args}: only unquoted K=V is replayed`)
          for (const w of words) s.env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1)
          break
        }
        case 'COPY': {
          const f = flags(step.args)
          const unknown = Object.keys(f.flags).filter((k) => k !== 'from')
          if (unknown.length > 0) throw new Error(`${where}: --${unknown.join(', --')} is not replayed`)
          const words = f.rest.startsWith('[') ? execForm(f.rest, where) : f.rest.split(/\s+/)
          const dest = words.pop()!
          const from = f.flags.from === undefined ? undefined : stages.get(f.flags.from)
          if (f.flags.from !== undefined && from === undefined) throw new Error(`${where}: no stage ${f.flags.from}`)
          const destIsDir = dest.endsWith('/') || dest === '.' || words.length > 1
          for (const src of words) {
            if (/[*?[]/.test(src)) throw new Error(`${where} ${src}: wildcards are not replayed`)
            let abs: string
            let filter = (_p: string): boolean => true
            if (from !== undefined) {
              abs = join(from.root, posix.resolve(from.workdir, src))
            } else {
              const rel = normalize(src).replace(/\/+$/, '')
              if (isAbsolute(rel) || rel.startsWith('..')) throw new Error(`${where} ${src}: outside the build context`)
              if (ignored(rel)) throw new Error(`${where} ${src}: excluded by .dockerignore (docker build would fail)`)
              abs = join(ROOT, rel)
              filter = (p: string) => !ignored(relative(ROOT, p))
            }
            if (!existsSync(abs)) throw new Error(`${where} ${src}: not found`)
            const target = inRoot(s, dest)
            if (statSync(abs).isDirectory()) {
              // A directory's contents are copied, not the directory itself.
              mkdirSync(target, { recursive: true })
              cpSync(abs, target, { recursive: true, filter, verbatimSymlinks: true })
            } else {
              const file = destIsDir ? join(target, basename(src)) : target
              mkdirSync(dirname(file), { recursive: true })
              copyFileSync(abs, file)
            }
          }
          break
        }
        case 'RUN': {
          if (/(^|[\s=])\//.test(step.args)) throw new Error(`${where} ${step.args}: absolute paths are not replayed`)
          const argv = execForm(step.args, where, true)
          const r = await run(argv, { cwd: inRoot(s, s.workdir), env: runEnv(s), timeoutMs: REPLAY_TIMEOUT_MS })
          if (r.code !== 0) throw new Error(`${where} ${step.args}: exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`)
          break
        }
        case 'USER':
          s.user = step.args
          break
        case 'EXPOSE':
          s.expose.push(...step.args.split(/\s+/).map((p) => Number(/^(\d+)(\/tcp)?$/.exec(p)?.[1] ?? NaN)))
          break
        case 'STOPSIGNAL':
          s.stopSignal = step.args
          break
        case 'HEALTHCHECK': {
          const f = flags(step.args)
          const cmd = /^CMD\s+(.*)$/.exec(f.rest)
          if (!cmd) throw new Error(`${where}: expected HEALTHCHECK [options] CMD ...`)
          s.healthcheck = { argv: execForm(cmd[1]!, where, true), timeoutMs: durationMs(f.flags.timeout ?? '30s') }
          break
        }
        case 'CMD':
          s.cmd = execForm(step.args, where)
          break
        default:
          throw new Error(`${where}: not replayed (extend test/contract/docker.test.ts)`)
      }
      steps.push({ line: step.line, what: `${step.op} ${step.args}`, ms: Date.now() - t0 })
    }
  }
  if (s === undefined) throw new Error('no FROM in the Dockerfile')
  return { stages, final: s, steps }
}

// ---- running the image ----

/** The uid the final stage runs as: `node` is uid 1000; without root we cannot switch, and run as ourselves. */
function runUid(s: Stage): number | undefined {
  if (s.user === 'root' || s.user === '0' || /^0:/.test(s.user)) throw new Error(`USER ${s.user} is root`)
  if (process.getuid?.() !== 0) return undefined
  if (s.user !== 'node' && s.user !== String(NODE_UID)) throw new Error(`USER ${s.user}: the replay knows only node (${NODE_UID})`)
  return NODE_UID
}

function containerEnv(s: Stage): Record<string, string> {
  return { HOME: join(s.root, 'home/node'), ...stageEnv(s) }
}

/** argv[0] looked up on the stage's PATH inside its root, as the container would. */
function resolveCmd(s: Stage, argv: string[]): string[] {
  const [cmd, ...rest] = argv
  if (cmd!.includes('/')) return [inRoot(s, cmd!), ...rest]
  for (const d of (s.env.PATH ?? IMAGE_PATH).split(':')) {
    const p = join(s.root, d, cmd!)
    if (existsSync(p)) return [p, ...rest]
  }
  throw new Error(`${cmd} is not on the image's PATH`)
}

interface Container { proc: ChildProcess; port: number; adminPort: number; logs: string[]; exited: Promise<number | null> }

async function startContainer(s: Stage): Promise<Container> {
  const argv = resolveCmd(s, s.cmd)
  const uid = runUid(s)
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: inRoot(s, s.workdir), env: containerEnv(s), stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  })
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  const logs: string[] = []
  proc.stderr!.on('data', (d: Buffer) => { logs.push(`stderr: ${d.toString()}`) })
  const ports: Record<string, number> = {}
  await new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`no "ready" in 15 s: ${logs.join('\n')}`)), 15_000)
    void exited.then((code) => { clearTimeout(t); fail(new Error(`exited ${code}: ${logs.join('\n')}`)) })
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line)
      let l: { msg?: string; port?: number }
      try { l = JSON.parse(line) as typeof l } catch { return }
      if (l.msg === 'listening' || l.msg === 'admin listening') ports[l.msg] ??= Number(l.port)
      if (l.msg === 'ready') { clearTimeout(t); ok() }
    })
  })
  return { proc, port: ports.listening!, adminPort: ports['admin listening']!, logs, exited }
}

// ---- the tests ----

describe('Dockerfile (replayed without Docker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-docker-'))
  chmodSync(dir, 0o755) // the image's user (uid 1000) must reach its files
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const ignoreText = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
  let image: Replayed | undefined
  let skipReason: string | undefined
  let backend: Backend | undefined

  beforeAll(async () => {
    const major = process.versions.node.split('.')[0]
    if (major !== '24') {
      skipReason = `the replay stands in Node ${process.versions.node} for node:24-slim; run it with Node 24`
      if (inCI()) throw new Error(skipReason)
      console.warn(`skipped: ${skipReason}`)
      return
    }
    image = await replay(dockerfile, ignoreText, dir)
    backend = await startBackend('backend-1')
  }, REPLAY_TIMEOUT_MS)

  afterAll(async () => {
    await backend?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const img = (ctx: { skip(note?: string): never }): Replayed => {
    if (skipReason !== undefined) ctx.skip(skipReason)
    return image!
  }

  it('.dockerignore keeps local installs, builds, tests and .git out of the context', () => {
    const ignored = dockerignore(ignoreText)
    for (const p of ['node_modules', 'node_modules/x/y.js', 'dist/cli.js', '.git', 'test/contract/docker.test.ts', 'bench/run.mjs', 'coverage']) {
      expect(ignored(p), p).toBe(true)
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli.ts', 'config/switchyard.yaml']) {
      expect(ignored(p), p).toBe(false)
    }
  })

  it('every stage is node:24-slim; the image holds dist/, package.json and production dependencies only', (ctx) => {
    const { final } = img(ctx)
    expect(parseDockerfile(dockerfile).map((st) => st.image)).toEqual(['node:24-slim', 'node:24-slim', 'node:24-slim'])
    const app = inRoot(final, '/app')
    expect(final.workdir).toBe('/app')
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json'])
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true)
    expect(existsSync(join(app, 'dist/config'))).toBe(true)
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true)
    for (const dev of [...Object.keys(pkg.devDependencies), 'typescript', 'vitest', 'eslint', '.bin/tsc']) {
      expect(existsSync(join(app, 'node_modules', dev)), `devDependency ${dev} in the image`).toBe(false)
    }
    expect(readFileSync(inRoot(final, '/etc/switchyard/switchyard.yaml'), 'utf8')).toBe(readFileSync(join(ROOT, 'config/switchyard.yaml'), 'utf8'))
    expect(final.env.SWITCHYARD_CONFIG).toBe('/etc/switchyard/switchyard.yaml')
  })

  it('runs as a non-root USER; EXPOSE is the example config\'s listener and admin ports', (ctx) => {
    const { final } = img(ctx)
    expect(final.user).toBe('node')
    expect(() => runUid(final)).not.toThrow()
    const example = YAML.parse(readFileSync(join(ROOT, 'config/switchyard.yaml'), 'utf8')) as { listeners: { port: number }[]; admin: { port: number } }
    expect([...final.expose].sort((a, b) => a - b)).toEqual([example.listeners[0]!.port, example.admin.port].sort((a, b) => a - b))
    expect(final.stopSignal).toBe('SIGTERM')
    expect(final.cmd).toEqual(['node', 'dist/cli.js'])
  })

  it('the shipped example config passes `check` in the image (SWITCHYARD_CONFIG is read)', async (ctx) => {
    const { final } = img(ctx)
    const argv = resolveCmd(final, [...final.cmd, 'check'])
    const uid = runUid(final)
    const r = await run(argv, { cwd: inRoot(final, final.workdir), env: containerEnv(final), timeoutMs: 15_000, ...(uid === undefined ? {} : { uid }) })
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'ok\n' })
  })

  it('CMD serves through the listener; HEALTHCHECK passes, then fails once STOPSIGNAL has stopped it (exit 0)', async (ctx) => {
    const { final } = img(ctx)
    // Like `-v my.yaml:/etc/switchyard/switchyard.yaml`: the example config with free ports
    // (0) and its upstream on a real backend; every other key as shipped.
    const configFile = inRoot(final, '/etc/switchyard/switchyard.yaml')
    const doc = YAML.parseDocument(readFileSync(configFile, 'utf8'))
    doc.setIn(['listeners', 0, 'port'], 0)
    doc.setIn(['admin', 'port'], 0)
    doc.setIn(['upstreams', 'app', 'servers'], [{ url: backend!.url }])
    writeFileSync(configFile, String(doc))

    const c = await startContainer(final)
    try {
      if (existsSync(`/proc/${c.proc.pid}/status`)) {
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))?.[1])
        expect(uid, 'the daemon runs as root').not.toBe(0)
        expect(uid).toBe(runUid(final) ?? process.getuid?.())
      }
      const r = await request(`http://127.0.0.1:${c.port}/hello`)
      expect(r.status).toBe(200)
      expect(r.body).toBe('backend-1')
      expect(backend!.seen.some((x) => x.url === '/hello')).toBe(true)

      const hc = final.healthcheck!
      expect(hc.argv.join(' ')).toContain('http://127.0.0.1:9090/healthz') // the image's admin port
      const argv = resolveCmd(final, hc.argv.map((a) => a.replaceAll('127.0.0.1:9090', `127.0.0.1:${c.adminPort}`)))
      const uid = runUid(final)
      const opts = { cwd: inRoot(final, final.workdir), env: containerEnv(final), timeoutMs: hc.timeoutMs, ...(uid === undefined ? {} : { uid }) }
      const healthy = await run(argv, opts)
      expect(healthy, healthy.stderr).toMatchObject({ code: 0, signal: null })

      c.proc.kill(final.stopSignal as NodeJS.Signals)
      expect(await c.exited, c.logs.slice(-5).join('\n')).toBe(0)
      expect(c.logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
      const gone = await run(argv, opts)
      expect(gone).toMatchObject({ code: 1, signal: null })
    } finally {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
    }
  })
})
