// On a Node older than package.json's engines.node, the CLI stops at once with one line
// naming the Node it needs and how to get it (undici would die at import with a raw stack
// trace), whatever the command; `npm ci` refuses too (engine-strict in .npmrc). The old
// Node is faked by an --import hook that sets process.versions.node before cli.js runs.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { CLI } from '../helpers/daemon.js'
import { nodeVersionProblem } from '../../src/node-version.js'

const ROOT = resolve(import.meta.dirname, '../..')
const ENGINES = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node

function fakeNode(version: string): string {
  const hook = join(mkdtempSync(join(tmpdir(), 'switchyard-node-')), 'fake.mjs')
  writeFileSync(hook, `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} })\n`)
  return hook
}

function runAs(version: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', fakeNode(version), CLI, ...args], { encoding: 'utf8', timeout: 10_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('an old Node', () => {
  it.each([
    ['run', ['--config', join(ROOT, 'config/switchyard.yaml')]],
    ['check', ['check', '--config', join(ROOT, 'config/switchyard.yaml')]],
    ['--version', ['--version']],
  ])('%s: one line naming the Node needed, exit 1, nothing else', (_name, args) => {
    const r = runAs('20.19.5', args)
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`needs Node.js ${ENGINES}`)
    expect(lines[0]).toContain('this is Node.js 20.19.5')
    expect(lines[0]).toMatch(/Install Node\.js 24/)
  })

  it('the version it needs is accepted (the check is not a blanket refusal)', () => {
    const r = runAs('22.19.0', ['--version'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^switchyard \d+\.\d+\.\d+\n$/)
    expect(r.status).toBe(0)
  })

  it('npm refuses to install on it too: engine-strict in .npmrc, engines.node in package.json', () => {
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict\s*=\s*true$/m)
    expect(ENGINES).toBe('>=22.19')
  })
})

describe('nodeVersionProblem', () => {
  it.each([
    ['24.11.0', '>=22.19', false],
    ['22.19.0', '>=22.19', false],
    ['22.20.1', '>=22.19', false],
    ['23.0.0', '>=22.19', false],
    ['v24.0.0', '>=22.19', false],
    ['22.18.9', '>=22.19', true],
    ['20.20.2', '>=22.19', true],
    ['18.0.0', '>=22.19', true],
    ['22.19.0', '>=22.19.1', true],
    ['24.0.0', '^24', false], // a range it does not read: left to npm
  ])('%s against %s: refused %s', (running, required, refused) => {
    expect(nodeVersionProblem(running, required) !== null).toBe(refused)
  })
})
