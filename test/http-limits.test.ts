/**
 * What a slow or broken client meets before any route: a request body trickled
 * slower than REQUEST_TIMEOUT_SECONDS is answered 408 and its connection closed
 * while other clients are served; what Node's HTTP parser refuses (a malformed
 * request line, headers too large) is a problem document; credentials sent twice
 * over are refused rather than one chosen silently.
 */
import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import { build } from './helper.ts'
import { basic, seed } from './fixtures.ts'

/** Sends `head`, then `body` one byte every `pauseMs`; resolves with all the server wrote once it closes. */
async function trickle (port: number, head: string, body: string, pauseMs: number): Promise<{ answer: string, ms: number }> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const started = performance.now()
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  socket.on('error', () => {})
  socket.write(head)
  const timer = setInterval(() => {
    if (body === '' || socket.destroyed) return clearInterval(timer)
    socket.write(body[0]!)
    body = body.slice(1)
  }, pauseMs)
  await once(socket, 'close')
  clearInterval(timer)
  return { answer, ms: performance.now() - started }
}

/** What the server answers to these raw bytes, once it closes the connection. */
async function raw (port: number, bytes: string): Promise<string> {
  return (await trickle(port, bytes, '', 1000)).answer
}

t.test('slow bodies, broken requests and credentials sent twice get clear answers', async (t) => {
  const { app, domain } = await build(t, { env: { REQUEST_TIMEOUT_SECONDS: '2' } })
  const world = await seed(domain, { apiKeys: true })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as net.AddressInfo

  const body = JSON.stringify({ name: 'slow', server: 'pasteur', type: 'program' }).padEnd(1000)
  const head = (credentials: string): string =>
    `POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${credentials}\r\n`
  let accepted = 0
  const bothAccepted = new Promise<void>((resolve) => app.server.on('connection', () => { if (++accepted === 2) resolve() }))
  const slow = [trickle(port, head(''), body, 200), trickle(port, head(`Authorization: ${basic('admin').authorization}\r\n`), body, 200)]
  // Others are served meanwhile, while both bodies still trickle (each would take 200 s).
  await bothAccepted
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200, 'a quick request is answered while slow bodies arrive')
  for (const [index, { answer, ms }] of (await Promise.all(slow)).entries()) {
    const who = index === 0 ? 'an anonymous' : 'an authenticated'
    t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/, `${who} trickled body is answered 408`)
    t.match(answer, /Content-Type: application\/problem\+json/)
    t.match(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), { status: 408, detail: /REQUEST_TIMEOUT_SECONDS/ })
    t.ok(ms >= 2000 && ms < 5000, `and its connection closed after the timeout (${Math.round(ms)} ms), not when the body ends`)
  }
  t.equal(await domain.services.get(world.actors.admin, 'slow::pasteur').catch(() => null), null, 'nothing was written')

  const wrong = await trickle(port, head(`Authorization: ${basic('admin', 'a wrong password').authorization}\r\n`), body, 200)
  t.match(wrong.answer, /^HTTP\/1\.1 401 Unauthorized\r\n/, 'wrong credentials are refused before the body is read')
  t.ok(wrong.ms < 1500, `and the connection closed at once, not once the body has trickled in (${Math.round(wrong.ms)} ms)`)
  const xmlHead = `POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\nAuthorization: ${basic('admin', 'a wrong password').authorization}\r\n\r\n`
  const wrongXml = await trickle(port, xmlHead, body, 200)
  t.match(wrongXml.answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*<int>401<\/int>/, 'XML-RPC: a fault 401 before the body is read')
  t.ok(wrongXml.ms < 1500, `and the connection closed at once (${Math.round(wrongXml.ms)} ms)`)

  const malformed = await raw(port, 'GET /servers/ HTTP/1.1\r\nHost x\r\n\r\n')
  t.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*application\/problem\+json[\s\S]*"status":400/, 'a malformed header: a problem document')
  const huge = await raw(port, `GET /servers/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n[\s\S]*"status":431/, 'headers too large: a problem document')

  const both = await app.inject({ url: '/servers/', headers: { ...basic('admin'), 'x-api-key': world.keys.admin } })
  t.equal(both.statusCode, 400, 'Authorization and X-API-Key together: refused')
  t.match(both.json(), { errors: [{ field: 'Authorization, X-API-Key', message: /one kind of credentials/ }] })
  t.equal((await app.inject({ url: `/servers/?api_key=${world.keys.admin}`, headers: { 'x-api-key': world.keys.admin } })).statusCode, 400,
    'a key in the header and in the query: refused, even the same key')
  const rpc = await app.inject({
    method: 'POST', url: '/xmlrpc', headers: { ...basic('admin'), 'x-api-key': world.keys.admin, 'content-type': 'text/xml' },
    payload: '<?xml version="1.0"?><methodCall><methodName>list</methodName><params><param><value><string>server</string></value></param></params></methodCall>'
  })
  t.match(rpc.body, /<fault>[\s\S]*one kind of credentials/, 'XML-RPC: a fault saying so')
})

t.test('connections past MAX_CONNECTIONS are closed as they arrive; the others are served', async (t) => {
  const { app } = await build(t, { env: { MAX_CONNECTIONS: '2' } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as net.AddressInfo
  const open = async (): Promise<net.Socket> => {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    t.teardown(() => socket.destroy())
    return socket
  }
  // The server counts a connection once it has accepted it, a moment after the client sees it open.
  let accepted = 0
  const acceptedTwo = new Promise<void>((resolve) => app.server.on('connection', () => { if (++accepted === 2) resolve() }))
  const [first, second] = [await open(), await open()]
  await acceptedTwo
  const third = await open()
  await once(third, 'close')
  t.pass('a third connection is closed at once')
  for (const socket of [first, second]) {
    let answer = ''
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await once(socket, 'close')
    t.match(answer, /^HTTP\/1\.1 200 OK/, 'the first two are served')
  }
})
