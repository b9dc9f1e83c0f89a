// Multi-core: switchyard with 1 and 2 workers (node:cluster; `workers: auto` gives 2 on a
// 2-core box) against nginx with 1 and 2 worker processes. Nothing is pinned: wrk (2 threads)
// and the backends share both cores with the proxy, so this shows what a second worker buys on
// a box where the load generator competes for the same cores, not scaling with the load
// generator elsewhere (that needs a second machine).
export default {
  name: 'multi-core small c256, unpinned',
  path: '/',
  connections: 256,
  threads: 2,
  pin: false,
  targets: ['direct', 'switchyard', 'switchyard-w2', 'nginx', 'nginx-w2'],
  variants: {
    'switchyard-w2': { kind: 'switchyard', switchyard: 'workers: 2' },
    'nginx-w2': { kind: 'nginx', nginx: { workers: 2 } },
  },
  scaling: [['switchyard', 'switchyard-w2'], ['nginx', 'nginx-w2']],
  note: 'unpinned: wrk -t2 and the backends share both cores with the proxy (no separate load machine here); the ratios show what the second worker adds under that contention.',
}
