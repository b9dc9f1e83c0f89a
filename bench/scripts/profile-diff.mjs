// Two CPU profiles of bench/scripts/profile-target.sh side by side, per request: self time
// (µs per request) by bucket (switchyard's dist/, undici, node:, native, GC, idle) and by
// function, B minus A, largest first. Per-function rows move with V8's inlining (a function
// inlined into its caller shows its time there), so read buckets first and small rows as noise.
//
//   node bench/scripts/profile-diff.mjs A B [rows]     (names under $OUT, /tmp/switchyard-profiles)
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'

const OUT = process.env.OUT ?? '/tmp/switchyard-profiles'

function bucketOf(url, fn) {
  if (url.includes('/dist/')) return 'switchyard'
  if (url.includes('undici')) return 'undici'
  if (url.includes('pino') || url.includes('prom-client')) return 'libs'
  if (url.startsWith('node:')) return 'node'
  return fn.startsWith('(') ? fn : 'native'
}

function load(name) {
  const dir = path.join(OUT, name)
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`)
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
  const reqs = Number(readFileSync(path.join(dir, 'reqs'), 'utf8'))
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const buckets = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const { callFrame: cf } = nodes.get(profile.samples[i])
    const t = (profile.timeDeltas[i] ?? 0) / reqs
    const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace('file://', '')}:${cf.lineNumber}`
    self.set(key, (self.get(key) ?? 0) + t)
    const b = bucketOf(cf.url, cf.functionName)
    buckets.set(b, (buckets.get(b) ?? 0) + t)
  }
  return { self, buckets }
}

const [nameA, nameB, rows = '40'] = process.argv.slice(2)
if (nameB === undefined) {
  console.error('usage: node bench/scripts/profile-diff.mjs A B [rows]')
  process.exit(2)
}
const a = load(nameA)
const b = load(nameB)
const f = (v) => v.toFixed(2).padStart(7)
const names = (x, y) => [...new Set([...x.keys(), ...y.keys()])]
console.log(`µs per request        ${nameA.padStart(7)} ${nameB.padStart(7)}    diff`)
let ta = 0
let tb = 0
for (const k of names(a.buckets, b.buckets).sort()) {
  const x = a.buckets.get(k) ?? 0
  const y = b.buckets.get(k) ?? 0
  ta += x
  tb += y
  console.log(`${k.padEnd(21)} ${f(x)} ${f(y)} ${f(y - x)}`)
}
console.log(`${'total'.padEnd(21)} ${f(ta)} ${f(tb)} ${f(tb - ta)}`)
const diff = names(a.self, b.self).map((k) => [k, a.self.get(k) ?? 0, b.self.get(k) ?? 0]).sort((p, q) => (q[2] - q[1]) - (p[2] - p[1]))
console.log(`\nby function, ${nameB} - ${nameA} (µs per request):`)
for (const [k, x, y] of diff.slice(0, Number(rows))) console.log(`${f(y - x)} ${f(x)} ${f(y)}  ${k}`)
