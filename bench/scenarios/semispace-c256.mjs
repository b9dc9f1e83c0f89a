// Opt-in (SCENARIOS=semispace-c256): V8's young generation against peak memory and
// throughput at 256 connections. --max-semi-space-size (MiB) is the knob an operator can set
// through NODE_OPTIONS; the default lets the young generation grow to 64 MiB under load.
const semi = (mib) => ({ kind: 'switchyard', node: [`--max-semi-space-size=${mib}`] })
export default {
  name: 'semi-space c256',
  path: '/',
  connections: 256,
  targets: ['switchyard', 'semi-8', 'semi-4', 'semi-2'],
  variants: { 'semi-8': semi(8), 'semi-4': semi(4), 'semi-2': semi(2) },
  scaling: [['switchyard', 'semi-8'], ['switchyard', 'semi-4'], ['switchyard', 'semi-2']],
}
