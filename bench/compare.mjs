// node-http-proxy and @fastify/reply-from, the comparison targets of issue #6's goals, are not
// dependencies of the project: they are installed on demand, pinned (the anchors' versions),
// into a cache folder outside the repo, when a selected target needs them (or COMPARE=1).
//   npm install --prefix ~/.cache/switchyard-bench http-proxy@1.18.1 fastify@5.12.8 @fastify/reply-from@12.6.5
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const PINNED = { 'http-proxy': '1.18.1', fastify: '5.12.8', '@fastify/reply-from': '12.6.5' }

export const compareDepsDir = () => process.env.BENCH_DEPS ?? path.join(os.homedir(), '.cache', 'switchyard-bench')

const installed = (dir, name) => {
  try { return JSON.parse(readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version } catch { return null }
}

/** Installs the pinned packages unless that exact set is already there. */
export function ensureCompareDeps() {
  const dir = compareDepsDir()
  const specs = Object.entries(PINNED)
  if (specs.every(([n, v]) => installed(dir, n) === v)) return dir
  console.error(`installing ${specs.map(([n, v]) => `${n}@${v}`).join(' ')} into ${dir}`)
  execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', ...specs.map(([n, v]) => `${n}@${v}`)], { stdio: ['ignore', 'ignore', 'inherit'] })
  return dir
}
