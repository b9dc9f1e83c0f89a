// argv -> check | run | reload | ctl | schema (cli.ts, the entry point, loads this once the Node version
// is known to be good and the signals are taken, and does the exiting). `run` builds the
// process's Control (shell/process/control.ts) and starts one of the two modes: a single
// process, or a primary with workers; a cluster worker runs what its primary sends.
import { parseArgs } from 'node:util'
import cluster from 'node:cluster'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { loadConfigFile, formatProblem } from './config/load.js'
import { configSchemaText } from './config/schema.js'
import { LOG_LEVELS, type ConfigProblem } from './config/types.js'
import { createLogger, flushLog, type Logger } from './shell/observe/log.js'
import { Metrics } from './shell/observe/metrics.js'
import { Control } from './shell/process/control.js'
import type { SignalInbox } from './shell/process/signals.js'
import { runSingle } from './shell/process/single.js'
import { runPrimary, workerCount } from './shell/process/primary.js'
import { runWorker } from './shell/process/worker.js'
import { packageJson } from './node-version.js'
import { ctl, CTL_USAGE } from './ctl.js'

export { drainLog, flushLog } from './shell/observe/log.js'

const USAGE = `Usage:
  switchyard [run] [--config FILE] [--pid-file FILE]      run the daemon
  switchyard check [--config FILE]                        validate a config: prints "ok" (exit 0) or every problem (exit 1)
  switchyard reload [--config FILE] [--pid-file FILE]     validate, then send SIGHUP to the running daemon
${CTL_USAGE}
                                                          the runtime API: take a server out, wait until it
                                                          is drained, put it back, change its weight
  switchyard schema                                       print the JSON Schema of the config file (for editors)
  switchyard --version | --help

Options:
  -c, --config FILE   config file (default: $SWITCHYARD_CONFIG, else config/switchyard.yaml)
  -p, --pid-file FILE run: write the daemon's pid there; reload: the pid to signal
                      (default: $SWITCHYARD_PID_FILE; none)
  -h, --help          this text
  -v, --version       the version
  --wait              ctl: wait until the server is drained (drain, disable) or healthy (enable)
  --timeout DUR       ctl --wait: give up after DUR (default 60s), exit 3

Environment:
  SWITCHYARD_CONFIG   default config file
  SWITCHYARD_PID_FILE default pid file
  LOG_LEVEL           overrides log.level (fatal, error, warn, info, debug, trace, silent)
`
const LEVELS: ReadonlySet<string> = new Set(LOG_LEVELS)

function version(): string {
  return packageJson().version
}

function printProblems(file: string, problems: readonly ConfigProblem[]): void {
  process.stderr.write(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`)
  for (const p of problems) process.stderr.write(`  ${formatProblem(p)}\n`)
}

export async function main(argv: string[], inbox: SignalInbox): Promise<number> {
  let args
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'pid-file': { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
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
  const file = args.values.config ?? process.env.SWITCHYARD_CONFIG ?? 'config/switchyard.yaml'
  if (command === 'ctl') return ctl({ args: extra, file, wait: args.values.wait === true, timeout: args.values.timeout })
  if (args.values.wait !== undefined || args.values.timeout !== undefined) {
    process.stderr.write(`switchyard: --wait and --timeout go with ctl\n\n${USAGE}`)
    return 2
  }
  if (!['run', 'check', 'reload', 'schema'].includes(command) || extra.length > 0) {
    process.stderr.write(`switchyard: unknown command "${[command, ...extra].join(' ')}"\n\n${USAGE}`)
    return 2
  }
  if (command === 'schema') {
    process.stdout.write(configSchemaText())
    return 0
  }
  const envLevel = process.env.LOG_LEVEL
  if (envLevel !== undefined && !LEVELS.has(envLevel)) {
    process.stderr.write(`switchyard: LOG_LEVEL: unknown level "${envLevel}" (one of ${[...LEVELS].join(', ')})\n`)
    return 1
  }

  if (cluster.isWorker) {
    // Forked by the primary: the config comes over IPC, already validated.
    const log = createLogger('info', true).child({ worker: Number(process.env.SWITCHYARD_WORKER_INDEX) })
    onCrash(log)
    return runWorker(log, inbox)
  }

  const pidFile = args.values['pid-file'] ?? process.env.SWITCHYARD_PID_FILE
  const loaded = await loadConfigFile(file)
  if (!loaded.ok) {
    printProblems(file, loaded.problems)
    return 1
  }
  if (command === 'check') {
    process.stdout.write('ok\n')
    return 0
  }
  if (command === 'reload') return signalReload(pidFile)

  const workers = workerCount(loaded.config)
  const log = createLogger(loaded.config.log.level, workers > 1)
  onCrash(log)
  if (pidFile !== undefined) {
    try {
      writeFileSync(pidFile, `${process.pid}\n`)
    } catch (err) {
      process.stderr.write(`switchyard: cannot write the pid file ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`)
      return 1
    }
    process.on('exit', () => removePidFile(pidFile))
  }
  log.info({ version: version(), config: file, node: process.version, workers }, 'starting')
  const metrics = new Metrics(workers > 1 ? 'primary' : 'single')
  const control = new Control(inbox, file, log, metrics)
  await (workers > 1 ? runPrimary(loaded.config, log, metrics, control) : runSingle(loaded.config, log, metrics, control))
  return control.stopped
}

/** A bug must not take the last 250 ms of (batched) log lines with it. */
function onCrash(log: Logger): void {
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: exiting')
    flushLog()
    process.exit(1)
  })
}

/** Removes the pid file if it is still ours (a newer daemon may have written its own). */
function removePidFile(file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file)
  } catch {
    // already gone
  }
}

/** `switchyard reload`: the config was validated above; now SIGHUP the pid in the pid file. */
function signalReload(pidFile: string | undefined): number {
  const how = 'send SIGHUP to the daemon\'s main process yourself (kill -HUP <pid>; under systemd: systemctl reload switchyard)'
  if (pidFile === undefined) {
    process.stderr.write(`switchyard: no pid file given (--pid-file or SWITCHYARD_PID_FILE): ${how}\n`)
    return 1
  }
  let pid: number
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10)
  } catch (err) {
    process.stderr.write(`switchyard: cannot read the pid file ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; ${how}\n`)
    return 1
  }
  if (!Number.isInteger(pid) || pid <= 1) {
    process.stderr.write(`switchyard: the pid file ${pidFile} holds no pid; ${how}\n`)
    return 1
  }
  try {
    process.kill(pid, 'SIGHUP')
  } catch (err) {
    process.stderr.write(`switchyard: cannot signal pid ${pid} from ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`)
    return 1
  }
  process.stdout.write(`config ok; sent SIGHUP to ${pid}\n`)
  return 0
}
