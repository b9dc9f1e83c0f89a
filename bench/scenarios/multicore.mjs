// Multi-core: switchyard with `workers: auto` (one per CPU: 2 on a 2-core box) against one
// worker, nginx with `worker_processes auto` against one. Nothing is pinned: wrk (2 threads)
// and the backends share every core with the proxy, so this shows what the extra workers buy
// on a box where the load generator competes for the same cores, not scaling with the load
// generator elsewhere (that needs a second machine).
// os.cpus(), not availableParallelism(): the orchestrator itself is pinned to one CPU.
import os from 'node:os'

export default {
  name: `multi-core small c256, ${os.cpus().length} CPUs, unpinned`,
  path: '/',
  connections: 256,
  threads: 2,
  pin: false,
  targets: ['direct', 'switchyard', 'switchyard-auto', 'switchyard-auto-reuseport', 'nginx', 'nginx-auto'],
  variants: {
    'switchyard-auto': { kind: 'switchyard', switchyard: 'workers: auto' },
    // Each worker binds the port itself (issue #20 item 5) instead of the primary handing connections over.
    'switchyard-auto-reuseport': { kind: 'switchyard', switchyard: 'workers: auto\nlistener: { reuse_port: true }' },
    'nginx-auto': { kind: 'nginx', nginx: { workers: 'auto' } },
  },
  scaling: [['switchyard', 'switchyard-auto'], ['switchyard', 'switchyard-auto-reuseport'], ['nginx', 'nginx-auto']],
  note: `wrk -t2 and the backends share all ${os.cpus().length} cores with the proxy (no separate load machine here); the ratios show what the extra workers add under that contention.`,
}
