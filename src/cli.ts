#!/usr/bin/env node
// The entry point, and the only place that exits the process. Before anything else loads:
// - the Node version is checked (on an old Node, undici dies at import with a raw stack
//   trace): one line on stderr saying which Node is needed, exit 1;
// - the control signals are taken (shell/process/signals.ts), so a SIGHUP right after exec
//   is kept for the daemon instead of killing it.
// Only then is the rest loaded (dynamic import): commands.ts reads argv and runs a command.
import { nodeVersionProblem, packageJson } from './node-version.js'
import { SignalInbox } from './shell/process/signals.js'

const problem = nodeVersionProblem(process.versions.node, packageJson().engines.node)
if (problem !== null) {
  process.stderr.write(`${problem}\n`)
  process.exit(1)
}
const inbox = new SignalInbox()
const { main, drainLog, flushLog } = await import('./commands.js')

main(process.argv.slice(2), inbox).then(
  async (code) => {
    await drainLog()
    flushLog()
    process.exit(code)
  },
  (err: unknown) => {
    flushLog()
    process.stderr.write(`switchyard: fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  },
)
