import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { build, databaseKinds } from '../helper.ts'
import { entityTag } from '../../src/rest/etag.ts'
import { basic, problemOf, seedUser } from './fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: /servers`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await seedUser(domain, 'admin', { is_admin: true })
    await seedUser(domain, 'alice')
    const admin = basic('admin')

    t.test('administrators create, read, change and delete servers', async (t) => {
      const created = await app.inject({ method: 'POST', url: '/servers', headers: admin, payload: { name: 'server1', url: 'http://one.example', active: true } })
      t.equal(created.statusCode, 201)
      t.equal(created.headers.location, '/servers/server1')
      t.same(created.json(), { url: 'http://one.example', services: [], active: true, description: '' })

      problemOf(await app.inject({ method: 'POST', url: '/servers', headers: admin, payload: { name: 'server1', url: 'http://x.example' } }), 409)

      for (const url of ['/servers/server1', '/servers/server1/']) {
        const read = await app.inject({ url })
        t.equal(read.statusCode, 200, url)
        t.same(read.json(), { url: 'http://one.example', services: [], active: true, description: '' })
      }

      const changed = await app.inject({ method: 'PATCH', url: '/servers/server1', headers: admin, payload: { active: false, description: 'down' } })
      t.equal(changed.statusCode, 200)
      t.same(changed.json(), { url: 'http://one.example', services: [], active: false, description: 'down' })

      const deleted = await app.inject({ method: 'DELETE', url: '/servers/server1', headers: admin })
      t.equal(deleted.statusCode, 204)
      t.equal(deleted.body, '')
      problemOf(await app.inject({ url: '/servers/server1' }), 404)
      problemOf(await app.inject({ method: 'DELETE', url: '/servers/server1', headers: admin }), 404)

      // What many fetch wrappers send: a JSON content type on a DELETE without a body.
      await domain.servers.create(systemActor, { name: 'labelled', url: 'http://labelled.example' })
      const labelled = await app.inject({ method: 'DELETE', url: '/servers/labelled', headers: { ...admin, 'content-type': 'application/json' } })
      t.equal(labelled.statusCode, 204, 'a DELETE labelled JSON with no body is a DELETE')
      problemOf(await app.inject({ method: 'POST', url: '/servers', headers: { ...admin, 'content-type': 'application/json' } }), 400)
    })

    t.test('others read but do not write', async (t) => {
      await domain.servers.create(systemActor, { name: 'kept', url: 'http://kept.example' })
      const anonymous = await app.inject({ method: 'POST', url: '/servers', payload: { name: 'nope', url: 'http://nope.example' } })
      const refused = problemOf(anonymous, 401)
      t.match(refused.detail, /authentication required/)
      t.equal(anonymous.headers['www-authenticate'], 'Basic realm="mobyle2"')
      problemOf(await app.inject({ method: 'POST', url: '/servers', headers: basic('alice'), payload: { name: 'nope', url: 'http://nope.example' } }), 403)
      problemOf(await app.inject({ method: 'PATCH', url: '/servers/kept', headers: basic('alice'), payload: { active: false } }), 403)
      problemOf(await app.inject({ method: 'DELETE', url: '/servers/kept', headers: basic('alice') }), 403)
      problemOf(await app.inject({ method: 'DELETE', url: '/servers/kept' }), 401)
      t.equal((await app.inject({ url: '/servers/kept', headers: basic('alice') })).statusCode, 200)
      const wrong = await app.inject({ url: '/servers/kept', headers: basic('alice', 'not the password') })
      problemOf(wrong, 401)
      t.equal(wrong.headers['www-authenticate'], 'Basic realm="mobyle2"', 'wrong credentials are refused even on public reads')
    })

    t.test('the collection is keyed by name, filtered and paged', async (t) => {
      for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) {
        await domain.servers.create(systemActor, { name, url: `http://${name}.example`, active: name !== 'a3' })
      }
      const all = await app.inject({ url: '/servers/' })
      t.equal(all.statusCode, 200)
      t.same(Object.keys(all.json()), ['a1', 'a2', 'a3', 'a4', 'a5', 'kept'])
      t.equal(all.headers['x-total-count'], '6')
      t.notOk(all.headers.link, 'one page: no links')
      t.same((await app.inject({ url: '/servers' })).json(), all.json(), 'both spellings')

      const inactive = await app.inject({ url: '/servers?active=false' })
      t.same(Object.keys(inactive.json()), ['a3'])

      const page = await app.inject({ url: '/servers/?active=true&limit=2&offset=2' })
      t.same(Object.keys(page.json()), ['a4', 'a5'])
      t.equal(page.headers['x-total-count'], '5')
      t.equal(page.headers.link, '</servers/?active=true&limit=2&offset=4>; rel="next", </servers/?active=true&limit=2&offset=0>; rel="prev"')
      // The same remembered page, asked with its parameters in another order: links written from each URL.
      const reordered = await app.inject({ url: '/servers/?offset=2&limit=2&active=true' })
      t.same(Object.keys(reordered.json()), ['a4', 'a5'])
      t.equal(reordered.headers.link, '</servers/?offset=4&limit=2&active=true>; rel="next", </servers/?offset=0&limit=2&active=true>; rel="prev"')
      t.equal((await app.inject({ url: '/servers/?active=true&limit=2&offset=2' })).headers.link, page.headers.link, 'and again as first asked')
      const key = (await domain.apiKeys.create(systemActor, 'admin', { label: 'links' })).secret
      const withKey = await app.inject({ url: `/servers/?active=true&limit=2&offset=2&api_key=${key}` })
      t.equal(withKey.headers.link, page.headers.link, 'a key in the query stays out of the links')

      problemOf(await app.inject({ url: '/servers?limit=0' }), 400)
      problemOf(await app.inject({ url: '/servers?limit=1001' }), 400)
      problemOf(await app.inject({ url: '/servers?active=maybe' }), 400)
      const unknown = problemOf(await app.inject({ url: '/servers?colour=blue' }), 400)
      t.same(unknown.errors, [{ field: 'colour', message: 'is not a known property' }])
    })

    t.test('reads carry an ETag and answer 304 to If-None-Match', async (t) => {
      const first = await app.inject({ url: '/servers/kept' })
      const etag = first.headers.etag as string
      t.match(etag, /^"[A-Za-z0-9_-]+"$/)
      const again = await app.inject({ url: '/servers/kept', headers: { 'if-none-match': etag } })
      t.equal(again.statusCode, 304)
      t.equal(again.body, '')
      t.equal((await app.inject({ url: '/servers/kept', headers: { 'if-none-match': `W/${etag}` } })).statusCode, 304, 'weak comparison')
      await domain.servers.update(systemActor, 'kept', { description: 'changed' })
      const changed = await app.inject({ url: '/servers/kept', headers: { 'if-none-match': etag } })
      t.equal(changed.statusCode, 200)
      t.not(changed.headers.etag, etag)
      t.equal(changed.json().description, 'changed', 'the remembered representation went with the change')
      t.equal(changed.headers['content-type'], 'application/json; charset=utf-8')
      t.equal(changed.headers.etag, entityTag(changed.body), 'the tag is the hash of the body sent')
      const head = await app.inject({ method: 'HEAD', url: '/servers/kept' })
      t.same([head.statusCode, head.headers.etag, head.body], [200, changed.headers.etag, ''], 'HEAD: the same tag, no body')
    })
  })
}
