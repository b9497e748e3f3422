import t from 'tap'
import { Writable } from 'node:stream'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../src/app.ts'
import { build, databaseKinds, freshDatabase, tempDir, testConfig } from '../helper.ts'
import { basic, problemOf, seedUser } from './fixtures.ts'

/** A raw request, so that the path reaches the server exactly as written (no URL normalisation). */
function rawGet (port: number, path: string): Promise<{ status: number, type: string, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

for (const kind of databaseKinds) {
  t.test(`${kind}: bad input gets a problem document with the right status`, async (t) => {
    const { app, domain } = await build(t, { kind, env: { BODY_LIMIT: '2048' } })
    await seedUser(domain, 'admin', { is_admin: true })
    const admin = basic('admin')
    const post = (payload: string | object, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: '/servers', headers: { ...admin, ...headers }, payload })

    const malformed = problemOf(await post('{"name": "x",', { 'content-type': 'application/json' }), 400)
    t.match(malformed.detail, /JSON/)
    problemOf(await post('', { 'content-type': 'application/json' }), 400)

    const wrongTypes = problemOf(await post({ name: 5, url: 'http://x.example', active: 'yes' }), 400)
    t.same(wrongTypes.errors?.map((e) => e.field).sort(), ['active', 'name'])
    const missing = problemOf(await post({ url: 'http://x.example' }), 400)
    t.same(missing.errors, [{ field: 'name', message: 'is required' }])
    const unknown = problemOf(await post({ name: 'x', url: 'http://x.example', colour: 'red' }), 400)
    t.same(unknown.errors, [{ field: 'colour', message: 'is not a known property' }], 'unknown fields are refused, not dropped')
    problemOf(await post({ name: '../etc', url: 'http://x.example' }), 400)
    problemOf(await post({ name: 'x', url: 'ftp://x.example' }), 400)
    problemOf(await post([{ name: 'x', url: 'http://x.example' }]), 400)
    t.equal((await app.inject({ url: '/servers/x' })).statusCode, 404, 'nothing was written by the refused requests')

    problemOf(await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415)
    problemOf(await post('{"name":"x","url":"http://x.example"}', { 'content-type': 'text/plain' }), 415)
    problemOf(await post({ name: 'x', url: `http://x.example/${'a'.repeat(3000)}` }), 413)

    const domainInvalid = problemOf(await app.inject({
      method: 'POST', url: '/services', headers: admin, payload: { name: 'svc', server: 'nowhere', type: 'program' }
    }), 400)
    t.same(domainInvalid.errors, [{ field: 'server', message: 'no such server nowhere' }], 'domain Invalid errors name their field too')

    for (const path of ['/users/abc', '/users/12345678901234', '/users/-1', '/projects/1.5', '/groups/.hidden', '/servers/a%20b']) {
      const problem = problemOf(await app.inject({ url: path, headers: admin }), 400)
      t.ok(problem.errors !== undefined && problem.errors.length > 0, path)
    }
    problemOf(await app.inject({ url: '/users/99999999999', headers: admin }), 404)

    const notFound = problemOf(await app.inject({ url: '/no/such/route' }), 404)
    t.match(notFound.detail, /no route GET \/no\/such\/route/)
    problemOf(await app.inject({ method: 'PUT', url: '/servers' }), 404)

    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    for (const path of ['/servers/%2e%2e', '/servers/..%2F..%2Fetc', '/users/%2e%2e', '/groups/..', '/services/..::x']) {
      const response = await rawGet(port, path)
      t.equal(response.status, 400, path)
      t.match(response.type, /^application\/problem\+json/)
    }
    const broken = await rawGet(port, '/servers/%zz')
    t.equal(broken.status, 400, 'a broken escape is a bad request')
    t.match(broken.type, /^application\/problem\+json/)
  })
}

t.test('an unexpected failure is a 500 that shows only the request id, and is logged', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const db = await freshDatabase(t)
  const app = await buildApp({ config: testConfig({ STORAGE_DIR: await tempDir(t, 'mobyle2-storage-') }), db, logger: { level: 'error', stream } })
  app.get('/explode', async () => { throw new Error('secret internals at /srv/app.ts') })
  await app.ready()
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/explode' })
  const problem = problemOf(response, 500)
  t.equal(problem.detail, 'Internal Server Error')
  t.ok(problem.request_id)
  t.notOk(response.body.includes('secret internals'), 'the message stays in the log')
  const logged = lines.map((line) => JSON.parse(line) as { msg: string, reqId?: string, err?: { message: string } })
  t.ok(logged.some((entry) => entry.err?.message === 'secret internals at /srv/app.ts' && entry.reqId === problem.request_id))
})
