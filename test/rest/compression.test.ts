import t from 'tap'
import { gunzipSync } from 'node:zlib'
import { systemActor } from '../../src/domain/index.ts'
import { acceptsGzip, compressFrom } from '../../src/rest/compression.ts'
import { build, databaseKinds } from '../helper.ts'
import { basic, seedUser } from './fixtures.ts'

t.test('Accept-Encoding takes gzip when it names it (or *) with a weight above zero', async (t) => {
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, false], ['', false], ['identity', false], ['deflate, br', false],
    ['gzip', true], ['GZIP', true], ['x-gzip', true], ['gzip, deflate, br', true], ['br;q=1.0, gzip;q=0.8', true],
    ['gzip;q=0', false], ['gzip; q=0.000', false], ['gzip;q=nonsense', false], ['gzip;q=0, *', false],
    ['*', true], ['*;q=0', false], ['identity, *;q=0.1', true], ['*;q=0.5, gzip;q=0', false]
  ]
  for (const [header, expected] of cases) t.equal(acceptsGzip(header), expected, String(header))
})

for (const kind of databaseKinds) {
  t.test(`${kind}: large representations are sent gzip-compressed to clients that take it`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await seedUser(domain, 'admin', { is_admin: true })
    await domain.servers.create(systemActor, { name: 'main', url: 'http://main.example' })
    for (let i = 0; i < 40; i++) {
      await domain.services.create(systemActor, { name: `service-${i}`, server: 'main', type: 'program', description: 'a program with a description long enough to matter' })
    }
    const gzip = { 'accept-encoding': 'gzip, deflate' }

    const plain = await app.inject({ url: '/services/' })
    t.ok(plain.rawPayload.length >= compressFrom, `a listing over the threshold (${plain.rawPayload.length} bytes)`)
    t.notOk(plain.headers['content-encoding'], 'nothing encoded when the client does not ask')
    t.match(plain.headers.vary, /Accept-Encoding/, 'caches told that the encoding depends on the request')

    const compressed = await app.inject({ url: '/services/', headers: gzip })
    t.equal(compressed.statusCode, 200)
    t.equal(compressed.headers['content-encoding'], 'gzip')
    t.match(compressed.headers['content-type'], /^application\/json/)
    t.match(compressed.headers.vary, /Accept-Encoding/)
    t.equal(compressed.headers['x-total-count'], '40')
    t.ok(compressed.rawPayload.length * 4 < plain.rawPayload.length, `${plain.rawPayload.length} → ${compressed.rawPayload.length} bytes`)
    t.same(gunzipSync(compressed.rawPayload), plain.rawPayload, 'the same bytes once inflated')
    t.not(compressed.headers.etag, plain.headers.etag, 'each representation its own tag')

    const again = await app.inject({ url: '/services/', headers: { ...gzip, 'if-none-match': compressed.headers.etag as string } })
    t.equal(again.statusCode, 304)
    t.notOk(again.headers['content-encoding'], 'a 304 has no body to encode')
    t.equal((await app.inject({ url: '/services/', headers: { 'if-none-match': compressed.headers.etag as string } })).statusCode, 200,
      'the gzip tag does not validate the plain representation')

    t.notOk((await app.inject({ url: '/services/', headers: { 'accept-encoding': 'gzip;q=0, identity' } })).headers['content-encoding'], 'gzip refused')
    t.equal((await app.inject({ url: '/services/', headers: { 'accept-encoding': '*' } })).headers['content-encoding'], 'gzip')

    // The compressed representation is remembered as the plain one is, and forgotten with it.
    await domain.services.create(systemActor, { name: 'newcomer', server: 'main', type: 'widget' })
    const changed = await app.inject({ url: '/services/', headers: gzip })
    t.match(JSON.parse(gunzipSync(changed.rawPayload).toString()), { 'newcomer::main': { type: 'widget' } }, 'a write shows at once')
    t.equal(changed.headers['x-total-count'], '41')

    const small = await app.inject({ url: '/services/service-1::main', headers: gzip })
    t.equal(small.statusCode, 200)
    t.notOk(small.headers['content-encoding'], `a small body (${small.rawPayload.length} bytes) is sent as it is`)
    t.notMatch(small.headers.vary ?? '', /Accept-Encoding/)

    const denied = await app.inject({ url: '/users/', headers: gzip })
    t.equal(denied.statusCode, 401, 'errors are not representations')
    t.notOk(denied.headers['content-encoding'])
    const users = await app.inject({ url: '/users/', headers: { ...gzip, ...basic('admin') } })
    t.equal(users.statusCode, 200)

    // Over a real connection, a client that inflates (fetch does) reads the same JSON.
    const address = await app.listen({ host: '127.0.0.1', port: 0 })
    const fetched = await fetch(`${address}/services/`, { headers: { 'accept-encoding': 'gzip' } })
    t.equal(fetched.headers.get('content-encoding'), 'gzip')
    t.same(await fetched.json(), JSON.parse(gunzipSync(changed.rawPayload).toString()))
  })
}
