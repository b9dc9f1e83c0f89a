// Open loop: a fixed RATE (default 5,000 req/s) of small requests over 64 keep-alive
// connections, latency from each request's intended send time (bench/load/openloop.mjs).
// Issue #6's goal: p99 added latency under 1 ms at 5,000 req/s.
export default { name: 'open loop small', load: 'openloop', path: '/', connections: 64 }
