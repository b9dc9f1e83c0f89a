// A cluster worker: serves traffic with the config the primary sends, applies the health
// check results, the runtime API's table and the DNS discovery sets the primary broadcasts
// (probes, lookups and the table run and are kept once, in the primary), and answers its
// status. Its passive health and in-flight counts are its own. ACME runs in the primary only:
// a worker serves the certificates it sends and answers the HTTP-01 tokens it hands out
// (acknowledged, so the primary asks for validation only once every worker can answer).
// Signals (taken from the first moment by cli.ts's SignalInbox): SIGHUP and SIGINT sent to a
// worker are ignored (the primary coordinates reloads, and a Ctrl-C reaching the whole
// process group must not start a second drain).
// SIGTERM drains the worker and ends it, like the primary's shutdown message: systemd's
// default KillMode sends it to every process of the unit, and an operator may send it to
// one worker, which the primary then replaces.
import process from 'node:process'
import { AggregatorRegistry } from 'prom-client'
import type { Config } from '../../config/types.js'
import { DataPlane } from './data-plane.js'
import type { SignalInbox } from './signals.js'
import { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { isToWorker, type FromWorker, type ToWorker } from './ipc.js'
import { fromEntries } from '../../core/admin-state.js'

function send(m: FromWorker): void {
  process.send?.(m)
}

/** Marks the servers the primary's checks hold down, so a new worker starts where the others are. */
function holdDown(plane: DataPlane, unhealthy: [string, string][], config: Config): void {
  for (const [upstream, server] of unhealthy) {
    const threshold = config.upstreams.find((u) => u.name === upstream)?.healthCheck?.unhealthyThreshold ?? 1
    for (let i = 0; i < threshold; i++) plane.runtime.applyProbe(upstream, server, false, 'unhealthy in the primary\'s checks')
  }
}

export function runWorker(log: Logger, inbox: SignalInbox): Promise<number> {
  const metrics = new Metrics('worker')
  // prom-client answers the primary's metrics requests only in a worker that has made an
  // AggregatorRegistry (its constructor adds the listener); setRegistries says what to send.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([metrics.registry])
  let plane: DataPlane | null = null

  return new Promise((resolve) => {
    const stop = (why: string): void => {
      if (plane === null) return resolve(0)
      if (plane.lifecycle.draining) return
      log.info({ why }, 'worker draining')
      void plane.drain().then(() => resolve(0))
    }
    process.on('disconnect', () => stop('the primary is gone'))
    inbox.deliverTo((signal) => { if (signal === 'SIGTERM') stop('SIGTERM') })
    process.on('message', (m: unknown) => {
      if (!isToWorker(m)) return
      const msg = m as ToWorker
      switch (msg.type) {
        case 'switchyard:config':
          if (plane === null) {
            const p = new DataPlane(msg.config, log, metrics, { ready: false, draining: false, websockets: new Set() }, new Map(msg.discovered))
            plane = p
            p.setAdmin(fromEntries(msg.admin))
            holdDown(p, msg.unhealthy, msg.config)
            void p.listen().then((ok) => {
              if (!ok) return resolve(1)
              for (const c of msg.certificates) p.install(c.listener, c.cert, c.key)
              for (const [token, keyAuthorization] of msg.challenges) p.challenges.set(token, keyAuthorization)
              p.lifecycle.ready = true
              send({ type: 'switchyard:ready' })
            })
          } else if (!plane.lifecycle.draining) {
            plane.apply(msg.config, fromEntries(msg.admin), new Map(msg.discovered))
            holdDown(plane, msg.unhealthy, msg.config)
          }
          return
        case 'switchyard:certificate':
          plane?.install(msg.certificate.listener, msg.certificate.cert, msg.certificate.key)
          return
        case 'switchyard:challenge':
          if (msg.keyAuthorization === null) plane?.challenges.delete(msg.token)
          else plane?.challenges.set(msg.token, msg.keyAuthorization)
          send({ type: 'switchyard:challenge', id: msg.id })
          return
        case 'switchyard:servers':
          if (plane !== null) for (const [upstream, servers] of msg.discovered) plane.runtime.setDiscovered(upstream, servers)
          return
        case 'switchyard:probe':
          plane?.runtime.applyProbe(msg.upstream, msg.server, msg.ok, msg.detail)
          return
        case 'switchyard:status':
          if (plane !== null) send({ type: 'switchyard:status', id: msg.id, status: plane.runtime.status() })
          return
        case 'switchyard:purge':
          if (plane === null) send({ type: 'switchyard:purged', id: msg.id })
          else void plane.runtime.purge(msg.url === null ? null : new URL(msg.url)).finally(() => send({ type: 'switchyard:purged', id: msg.id }))
          return
        case 'switchyard:admin':
          plane?.setAdmin(fromEntries(msg.admin))
          send({ type: 'switchyard:admin-applied', id: msg.id })
          return
        case 'switchyard:shutdown':
          stop('shutdown')
      }
    })
  })
}
