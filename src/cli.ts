#!/usr/bin/env node
// argv -> check | run. The only place that exits the process.
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { loadConfigFile, formatProblem } from './config/load.js'
import type { ConfigProblem } from './config/types.js'
import { createLogger, flushLog } from './shell/log.js'
import { startDaemon } from './shell/daemon.js'

const USAGE = `Usage:
  switchyard [run] [--config FILE]     run the daemon
  switchyard check [--config FILE]     validate a config: prints "ok" (exit 0) or every problem (exit 1)
  switchyard --version | --help

Options:
  -c, --config FILE   config file (default: $SWITCHYARD_CONFIG, else config/switchyard.yaml)
  -h, --help          this text
  -v, --version       the version

Environment:
  SWITCHYARD_CONFIG   default config file
  LOG_LEVEL           overrides log.level (fatal, error, warn, info, debug, trace, silent)
`
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function printProblems(file: string, problems: readonly ConfigProblem[]): void {
  process.stderr.write(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`)
  for (const p of problems) process.stderr.write(`  ${formatProblem(p)}\n`)
}

async function main(argv: string[]): Promise<number> {
  let args
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (args.values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (args.values.version) {
    process.stdout.write(`switchyard ${version()}\n`)
    return 0
  }
  const [command = 'run', ...extra] = args.positionals
  if ((command !== 'run' && command !== 'check') || extra.length > 0) {
    process.stderr.write(`switchyard: unknown command "${[command, ...extra].join(' ')}"\n\n${USAGE}`)
    return 2
  }
  const envLevel = process.env.LOG_LEVEL
  if (envLevel !== undefined && !LEVELS.has(envLevel)) {
    process.stderr.write(`switchyard: LOG_LEVEL: unknown level "${envLevel}" (one of ${[...LEVELS].join(', ')})\n`)
    return 1
  }

  const file = args.values.config ?? process.env.SWITCHYARD_CONFIG ?? 'config/switchyard.yaml'
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) {
    printProblems(file, loaded.problems)
    return 1
  }
  if (command === 'check') {
    process.stdout.write('ok\n')
    return 0
  }

  const log = createLogger(loaded.config.log.level)
  // A bug must not take the last 250 ms of (batched) log lines with it.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: exiting')
    flushLog()
    process.exit(1)
  })
  log.info({ version: version(), config: file, node: process.version }, 'starting')
  const daemon = await startDaemon(loaded.config, log)
  return daemon.stopped
}

main(process.argv.slice(2)).then(
  (code) => {
    flushLog()
    process.exit(code)
  },
  (err: unknown) => {
    flushLog()
    process.stderr.write(`switchyard: fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  },
)
