// gRPC through switchyard (contract section 6): a @grpc/grpc-js client over TLS + HTTP/2 to
// a TLS listener, forwarded to an `http2: true` upstream (a grpc-js server speaking h2c),
// with trailers and grpc-status intact: unary and server-streaming calls, trailing metadata,
// and a non-OK status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js'
import { makeTestCa } from '../helpers/test-ca.js'

const pki = makeTestCa()
const leaf = pki.issue('localhost', ['localhost', 'IP:127.0.0.1'])
const listenerTls = `tls: {certificates: [{cert_file: ${leaf.cert}, key_file: ${leaf.key}}]}`

const PROTO = `
syntax = "proto3";
package echo;
service Echo {
  rpc Say (Note) returns (Note);
  rpc Count (Note) returns (stream Note);
  rpc Fail (Note) returns (Note);
}
message Note { string text = 1; int32 n = 2; }
`

interface Note { text: string; n: number }
type EchoClient = grpc.Client & {
  Say(n: Note, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientUnaryCall
  Count(n: Note): grpc.ClientReadableStream<Note>
  Fail(n: Note, cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientUnaryCall
}

describe('gRPC through an h2 listener to an http2 upstream', () => {
  let server: grpc.Server
  let d: RunningDaemon
  let client: EchoClient

  beforeAll(async () => {
    const file = join(pki.dir, 'echo.proto')
    writeFileSync(file, PROTO)
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file)) as unknown as { echo: { Echo: grpc.ServiceClientConstructor } }
    server = new grpc.Server()
    server.addService(pkg.echo.Echo.service, {
      Say: (call: grpc.ServerUnaryCall<Note, Note>, cb: grpc.sendUnaryData<Note>) => {
        const trailer = new grpc.Metadata()
        trailer.set('x-served-by', 'echo')
        cb(null, { text: `${call.request.text}!`, n: call.request.n + 1 }, trailer)
      },
      Count: (call: grpc.ServerWritableStream<Note, Note>) => {
        for (let i = 1; i <= call.request.n; i++) call.write({ text: call.request.text, n: i })
        call.end()
      },
      Fail: (_call: grpc.ServerUnaryCall<Note, Note>, cb: grpc.sendUnaryData<Note>) => {
        const trailer = new grpc.Metadata()
        trailer.set('x-reason', 'no such note')
        cb({ code: grpc.status.NOT_FOUND, details: 'note not found', metadata: trailer })
      },
    })
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
    d = await startDaemon(`
listeners: [{address: 127.0.0.1, port: 0, ${listenerTls}}]
admin: {port: 0}
upstreams:
  grpc:
    http2: true
    servers: [{url: "http://127.0.0.1:${port}"}]
`)
    client = new pkg.echo.Echo(`localhost:${d.port()}`, grpc.credentials.createSsl(Buffer.from(pki.read(pki.ca.cert)))) as unknown as EchoClient
  })
  afterAll(async () => {
    client?.close()
    await d?.stop()
    server?.forceShutdown()
  })

  it('unary: the answer and the trailing metadata', async () => {
    const trailers = new Promise<grpc.Metadata>((resolve) => {
      const call = client.Say({ text: 'hi', n: 41 }, new grpc.Metadata(), (e, r) => {
        expect(e).toBeNull()
        expect(r).toEqual({ text: 'hi!', n: 42 })
      })
      call.on('status', (s: grpc.StatusObject) => {
        expect(s.code).toBe(grpc.status.OK)
        resolve(s.metadata)
      })
    })
    expect((await trailers).get('x-served-by')).toEqual(['echo'])
  })

  it('server streaming: every message, then OK', async () => {
    const got: number[] = []
    const code = await new Promise<number>((resolve, reject) => {
      const stream = client.Count({ text: 'n', n: 5 })
      stream.on('data', (m: Note) => got.push(m.n))
      stream.on('status', (s: grpc.StatusObject) => resolve(s.code))
      stream.on('error', (e) => { if ((e as grpc.ServiceError).code === undefined) reject(e) })
    })
    expect(code).toBe(grpc.status.OK)
    expect(got).toEqual([1, 2, 3, 4, 5])
  })

  it('a non-OK status keeps its code, message and trailing metadata', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => client.Fail({ text: 'x', n: 0 }, (e) => resolve(e!)))
    expect(err.code).toBe(grpc.status.NOT_FOUND)
    expect(err.details).toBe('note not found')
    expect(err.metadata.get('x-reason')).toEqual(['no such note'])
  })
})
