// deploy/prometheus/alerts.yml: `promtool check rules` accepts it and `promtool test rules`
// passes its unit tests (deploy/prometheus/alerts.test.yml). Those unit tests must be able to
// fail: each alert's expression is replaced, in a temp copy, by one that never fires and by
// one that always fires, and promtool must then report a failure. That shows every alert has
// a case where it fires and one where it stays silent. The rules' expressions also run against
// a real Prometheus scraping the daemon in grafana.test.ts (metric names checked there).
// Needs Debian's `prometheus` package (promtool): skipped locally without it, failed in CI.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml'
import { findTool, needTool } from '../helpers/tools.js'

const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url))
const RULES = join(DIR, 'alerts.yml')
const TESTS = join(DIR, 'alerts.test.yml')

/** The alerts the issue asks for (more are welcome). */
const REQUIRED = [
  'SwitchyardServerDown', 'SwitchyardUpstreamAllServersDown', 'SwitchyardHighErrorRatio',
  'SwitchyardHighLatencyP99', 'SwitchyardCertificateExpiresSoon', 'SwitchyardConfigReloadFailed',
]

function promtool(args: string[], cwd: string, timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(findTool('promtool')!, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { out += d.toString() })
    proc.once('error', (e) => { clearTimeout(timer); reject(e) })
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, out }) })
  })
}

const rulesDoc = parseDocument(readFileSync(RULES, 'utf8'))
const rules = (): YAMLMap[] => {
  const groups = rulesDoc.get('groups')
  if (!isSeq(groups)) throw new Error('alerts.yml: no groups')
  return groups.items.flatMap((g) => {
    const r = (g as YAMLMap).get('rules')
    return isSeq(r) ? r.items.filter(isMap) as YAMLMap[] : []
  })
}
const alertNames = rules().map((r) => String(r.get('alert')))

const temps: string[] = []
afterAll(() => { for (const t of temps) rmSync(t, { recursive: true, force: true }) })

describe('deploy/prometheus/alerts.yml', () => {
  it('has the alerts the issue asks for, each with a severity, a summary and a description', () => {
    expect(alertNames).toEqual(expect.arrayContaining(REQUIRED))
    for (const r of rules()) {
      const name = String(r.get('alert'))
      expect(['warning', 'critical'], `${name}: severity`).toContain(r.getIn(['labels', 'severity']))
      expect(String(r.getIn(['annotations', 'summary']) ?? ''), `${name}: summary`).toMatch(/\S/)
      expect(String(r.getIn(['annotations', 'description']) ?? ''), `${name}: description`).toMatch(/\S/)
    }
  })

  it('passes `promtool check rules` and `promtool test rules`', async (ctx) => {
    needTool(ctx, 'promtool', 'prometheus')
    const check = await promtool(['check', 'rules', RULES], DIR)
    expect({ code: check.code, out: check.out }).toMatchObject({ code: 0 })
    expect(check.out).toContain(`SUCCESS: ${alertNames.length} rules found`)
    const test = await promtool(['test', 'rules', TESTS], DIR)
    expect({ code: test.code, out: test.out }).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') })
    // Every alert is named in the unit tests.
    const tested = readFileSync(TESTS, 'utf8')
    expect(alertNames.filter((a) => !tested.includes(`alertname: ${a}\n`)), 'alerts without a unit test').toEqual([])
  })

  it('has unit tests that fail when an alert never fires, or always fires', async (ctx) => {
    needTool(ctx, 'promtool', 'prometheus')
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-alerts-'))
    temps.push(dir)
    copyFileSync(TESTS, join(dir, 'alerts.test.yml'))
    const survivors: string[] = []
    for (const [i, name] of alertNames.entries()) {
      for (const [what, expr] of [['never fires', 'vector(1) == 0'], ['always fires', 'vector(1)']] as const) {
        const doc = rulesDoc.clone()
        const rule = (doc.get('groups') as { items: YAMLMap[] }).items.flatMap((g) => (g.get('rules') as { items: YAMLMap[] }).items)[i]!
        rule.set('expr', expr)
        writeFileSync(join(dir, 'alerts.yml'), doc.toString())
        const r = await promtool(['test', 'rules', 'alerts.test.yml'], dir)
        if (r.code === 0) survivors.push(`${name} ${what}: promtool test rules still passes`)
      }
    }
    expect(survivors).toEqual([])
  }, 30_000)
})
