// What the access log + request metrics cost (issue #3: under 5%). Each round measures one
// daemon twice, with both on and, reloaded (SIGHUP), with both off (`toggle`), the order
// alternating: one process for both sides, so nothing differs but the feature (two identical
// daemons measured ~1.5% apart; sequential rounds on this VM drift by several percent).
// Twice over: stdout to /dev/null, and stdout a pipe the bench reads (as journald or Docker).
export default {
  name: 'log+metrics cost c50',
  path: '/',
  connections: 50,
  warmup: 10, // past V8's tiers: a fresh daemon's first seconds run slower (5 s left the first round high)
  reps: 9, // odd: the median is one round's figure
  targets: ['switchyard', 'switchyard-piped'],
  variants: { 'switchyard-piped': { kind: 'switchyard', stdout: 'drain' } },
  toggle: { name: 'bare', switchyard: 'admin: { request_metrics: false }\nlog: { access_log: false }' },
  cpuCost: [['switchyard', 'switchyard-bare'], ['switchyard-piped', 'switchyard-piped-bare']],
}
