// fastify 5 + @fastify/reply-from with base = [backends], an undici BalancedPool (as
// ../shared/bench-anchors). HTTP only: reply-from does not carry WebSocket upgrades.
// Env: PORT, BACKENDS (comma list of origins), BENCH_DEPS (where compare.mjs installed it).
import { createRequire } from 'node:module'

const load = createRequire(`${process.env.BENCH_DEPS}/package.json`)
const Fastify = load('fastify')
const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 })
// Bodies pass through as streams, not parsed (an upload scenario posts octet-stream).
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_req, payload, done) => done(null, payload))
app.register(load('@fastify/reply-from'), {
  base: process.env.BACKENDS.split(','),
  undici: { connections: 128, pipelining: 1 },
})
app.all('/*', (request, reply) => reply.from(request.url))
app.server.keepAliveTimeout = 120_000
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => process.exit(0))
