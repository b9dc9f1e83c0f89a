// WebSocket echo: 50 clients, 64-byte binary messages, each waiting for its echo before the next
// (bench/load/wsload.mjs, pinned to the load CPU). Backends: two `ws` echo servers. nginx uses
// its Upgrade/Connection map (conf.mjs); haproxy tunnels upgrades in http mode by itself.
// reply-from does not carry upgrades, so it is left out.
export default {
  name: 'WebSocket echo c50 (msg/s)',
  load: 'ws',
  backends: 'ws',
  connections: 50,
  size: 64,
  excludeKinds: ['reply-from'],
  targets: ['direct', 'switchyard', 'nginx', 'haproxy', 'node-http-proxy'],
}
