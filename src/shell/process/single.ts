// workers: 1 — everything in this process: the data plane, the admin port, the active
// workers: 1 — everything in this process: the data plane, the admin port, the active
// health checks, the DNS discovery loops and, with tls.acme, the ACME manager. Control
// (control.ts) handles the signals; this file builds and offers the Mode it drives. With
// dns:/srv: servers, ready waits for every name's first lookup (whatever its result), so the
// first requests meet the servers found.
import type { Config } from '../../config/types.js'
import { adminListenerConfig } from './listeners.js'
import { adminHandler, registryMetrics } from './admin.js'
import { bind, closeListener, DataPlane } from './data-plane.js'
import type { Control } from './control.js'
import type { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { ServerAdmin } from './server-admin.js'
import { startAcme } from './acme-start.js'
import { Discovery, type SetListener } from '../runtime/discovery.js'

/** Binds everything, then tells `control` it is ready (or that it failed). */
export async function runSingle(config: Config, log: Logger, metrics: Metrics, control: Control): Promise<void> {
  const plane = new DataPlane(config, log, metrics, control.lifecycle)
  let discovery = new Discovery(config, log, metrics)
  const onSet: SetListener = (upstream, servers) => plane.runtime.setDiscovered(upstream, servers)
  const firstLookups = discovery.start(onSet)
  if (!(await plane.listen())) {
    discovery.stop()
    return control.failed(1)
  }
  const serverAdmin = new ServerAdmin(log)
  const acme = await startAcme(config, log, metrics, {
    install: (c) => plane.install(c.listener, c.cert, c.key),
    challenge: async (token, keyAuthorization) => {
      if (keyAuthorization === null) plane.challenges.delete(token)
      else plane.challenges.set(token, keyAuthorization)
    },
  })
  const admin = adminHandler({
    metrics: registryMetrics(metrics.registry),
    lifecycle: plane.lifecycle,
    status: () => plane.runtime.status(),
    purge: async (url) => { await plane.runtime.purge(url) },
    token: () => plane.runtime.config.admin.token,
    change: async (upstream, server, action, client) => {
      const answer = serverAdmin.change(plane.runtime.config, upstream, server, action, client)
      if (answer.changed) plane.setAdmin(serverAdmin.table)
      return answer
    },
  })
  const adminListener = await bind('admin', adminListenerConfig(config.admin), admin, log)
  if (adminListener === null) {
    discovery.stop()
    await plane.drain()
    return control.failed(1)
  }
  plane.runtime.startHealthChecks()
  acme?.run()
  await firstLookups
  control.ready({
    get config() { return plane.runtime.config },
    apply(next) {
      // Names that stay keep their last good answer through the reload.
      const previous = discovery
      discovery = new Discovery(next, log, metrics, previous)
      previous.stop()
      serverAdmin.keep(next)
      plane.apply(next, serverAdmin.table, discovery.sets()).startHealthChecks()
      void discovery.start(onSet)
    },
    async drain() {
      acme?.stop()
      discovery.stop()
      await plane.drain()
      // The admin port closes last, so /readyz answers 503 for the whole drain.
      await closeListener(adminListener)
    },
    kill() { plane.kill() },
  }, { listeners: plane.listeners.length })
}
