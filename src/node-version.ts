// Which Node.js the daemon needs, read from package.json's `engines.node` (">=22.19"), and
// the one-line refusal for an older one. cli.ts asks before it loads anything else: on an
// old Node, undici fails at import time with a raw stack trace that names no cause.
// Node builtins only, and syntax any Node since 14 parses.
import { readFileSync } from 'node:fs'

export function packageJson(): { version: string; engines: { node: string } } {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; engines: { node: string } }
}

/** null when `running` (e.g. "24.11.0") satisfies `required` (">=22.19"), else the message. */
export function nodeVersionProblem(running: string, required: string): string | null {
  const want = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(required.trim())
  if (want === null) return null // a range this check does not read: npm's engine-strict has it
  const have = running.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10))
  const min = [1, 2, 3].map((i) => Number(want[i] ?? 0))
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0
    if (h > (min[i] as number)) return null
    if (h < (min[i] as number)) {
      return `switchyard needs Node.js ${required} (24 LTS recommended); this is Node.js ${running.replace(/^v/, '')}. ` +
        'Install Node.js 24 (https://nodejs.org, your distribution\'s nodejs 24 package, or `. .ci/node24.sh` in a checkout).'
    }
  }
  return null
}
