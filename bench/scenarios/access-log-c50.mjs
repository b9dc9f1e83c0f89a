// Metrics and access log on versus off, on their own: small responses, 50 connections, only the
// two switchyard variants (and direct), so more rounds fit in the same time. The paired cost is
// printed under the table.
export default { name: 'log+metrics c50', path: '/', connections: 50, targets: ['direct', 'switchyard', 'switchyard-bare'], reps: 5 }
