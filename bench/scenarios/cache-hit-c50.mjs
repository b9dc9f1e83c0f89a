// Cached hits: 50 connections asking for one URL the backend marks `public, max-age=3600`
// (`/cacheable`), so after the first request every answer comes from the proxy's cache:
// switchyard's memory store against nginx's proxy_cache (keys in shared memory, bodies in files
// the page cache holds). direct is the backend itself; node-memory (added here, by default) is
// the Node ceiling for an answer from memory: the same bytes as switchyard's hit, written from
// a buffer with nothing else (proxies/node-memory.mjs). The goal of issue #19: switchyard
// >= 0.8x node-memory and >= 0.4x nginx (paired). haproxy's small-object cache and the
// comparison proxies are left out.
export default {
  name: 'cache hit c50',
  path: '/cacheable',
  connections: 50,
  addTargets: ['node-memory'],
  excludeKinds: ['haproxy', 'pool-dispatch', 'node-hello', 'node-http-proxy', 'reply-from'],
  versus: { switchyard: { 'node-memory': 'node-memory', nginx: 'nginx proxy_cache' } },
  switchyard: 'caches: { pages: { store: memory } }\nroutes: [{ upstream: app, cache: pages }]',
  nginx: {
    http: 'proxy_cache_path cache keys_zone=pages:10m;', // relative to the nginx target's prefix directory
    location: 'proxy_cache pages;',
  },
}
