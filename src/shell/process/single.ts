// workers: 1 — everything in this process: the data plane, the admin port, the active
// health checks and, with tls.acme, the ACME manager. Control (control.ts) handles the
// signals; this file builds and offers the Mode it drives.
import type { Config } from '../../config/types.js'
import { adminListenerConfig } from './listeners.js'
import { adminHandler, registryMetrics } from './admin.js'
import { bind, closeListener, DataPlane } from './data-plane.js'
import type { Control } from './control.js'
import type { Metrics } from '../observe/metrics.js'
import type { Logger } from '../observe/log.js'
import { ServerAdmin } from './server-admin.js'
import { startAcme } from './acme-start.js'

/** Binds everything, then tells `control` it is ready (or that it failed). */
export async function runSingle(config: Config, log: Logger, metrics: Metrics, control: Control): Promise<void> {
  const plane = new DataPlane(config, log, metrics, control.lifecycle)
  if (!(await plane.listen())) return control.failed(1)
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
    await plane.drain()
    return control.failed(1)
  }
  plane.runtime.startHealthChecks()
  acme?.run()
  control.ready({
    get config() { return plane.runtime.config },
    apply(next) {
      serverAdmin.keep(next)
      plane.apply(next, serverAdmin.table).startHealthChecks()
    },
    async drain() {
      acme?.stop()
      await plane.drain()
      // The admin port closes last, so /readyz answers 503 for the whole drain.
      await closeListener(adminListener)
    },
    kill() { plane.kill() },
  }, { listeners: plane.listeners.length })
}
