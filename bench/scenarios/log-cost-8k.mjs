// What the access log + request metrics cost at a fixed 8,000 req/s (open loop): at a fixed
// rate every target does the same work, so the cost shows as CPU per request (paired under
// the table), without a saturated proxy's run-to-run spread. Twice: stdout to /dev/null, and
// stdout a pipe the bench reads and discards, as journald or Docker read it.
const BARE = 'admin: { request_metrics: false }\nlog: { access_log: false }'
export default {
  name: 'log+metrics at 8000 req/s',
  load: 'openloop',
  rate: 8000,
  connections: 64,
  path: '/',
  reps: 5,
  targets: ['direct', 'switchyard', 'switchyard-bare', 'switchyard-piped', 'switchyard-bare-piped'],
  variants: {
    'switchyard-piped': { kind: 'switchyard', stdout: 'drain' },
    'switchyard-bare-piped': { kind: 'switchyard', stdout: 'drain', switchyard: BARE },
  },
  cpuCost: [['switchyard', 'switchyard-bare'], ['switchyard-piped', 'switchyard-bare-piped']],
}
