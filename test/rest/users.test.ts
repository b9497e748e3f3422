import t from 'tap'
import { build, databaseKinds } from '../helper.ts'
import { basic, password, problemOf, seedUser } from './fixtures.ts'
import { formatId } from '../../src/rest/common.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: /users`, async (t) => {
    const { app, domain } = await build(t, { kind, env: { LOGIN_MAX_FAILURES: '50' } })
    const adminId = await seedUser(domain, 'admin', { is_admin: true })
    const aliceId = await seedUser(domain, 'alice', { email: 'alice@example.org' })
    const bobId = await seedUser(domain, 'bob')
    const admin = basic('admin')

    t.test('administrators create, list and delete users', async (t) => {
      const created = await app.inject({
        method: 'POST', url: '/users', headers: admin,
        payload: { username: 'carol', password: 'pw-carol', email: 'carol@example.org', firstname: 'Carol', authentication_type: 'ldap' }
      })
      t.equal(created.statusCode, 201)
      const carol = created.json()
      t.same(carol, {
        username: 'carol', email: 'carol@example.org', firstname: 'Carol', lastname: '', type: 'authenticated',
        authentication_type: 'ldap', status: 'active', is_admin: false, groups: [], projects: []
      }, 'no password, no null members')
      t.match(created.headers.location, /^\/users\/\d{11}$/)
      problemOf(await app.inject({ method: 'POST', url: '/users', headers: admin, payload: { username: 'carol' } }), 409)
      problemOf(await app.inject({ method: 'POST', url: '/users', headers: basic('alice'), payload: { username: 'dave' } }), 403)

      const list = await app.inject({ url: '/users/', headers: admin })
      t.equal(list.statusCode, 200)
      const carolId = (created.headers.location as string).slice('/users/'.length)
      t.same(Object.keys(list.json()), [formatId(adminId), formatId(aliceId), formatId(bobId), carolId])
      t.same(Object.keys((await app.inject({ url: '/users?username=alice', headers: admin })).json()), [formatId(aliceId)])
      t.same(Object.keys((await app.inject({ url: '/users?is_admin=true', headers: admin })).json()), [formatId(adminId)])
      problemOf(await app.inject({ url: '/users', headers: basic('alice') }), 403)
      problemOf(await app.inject({ url: '/users' }), 401)

      const location = created.headers.location as string
      t.equal((await app.inject({ method: 'DELETE', url: location, headers: basic('alice') })).statusCode, 403)
      t.equal((await app.inject({ method: 'DELETE', url: location, headers: admin })).statusCode, 204)
      problemOf(await app.inject({ url: location, headers: admin }), 404)
    })

    t.test('a user reads and edits its own record, not others', async (t) => {
      const own = await app.inject({ url: `/users/${formatId(aliceId)}`, headers: basic('alice') })
      t.equal(own.statusCode, 200)
      t.equal(own.json().email, 'alice@example.org')
      t.equal((await app.inject({ url: `/users/${aliceId}`, headers: basic('alice') })).statusCode, 200, 'the plain number works too')
      // Another user's record is answered as one that does not exist, to anyone.
      const hidden = problemOf(await app.inject({ url: `/users/${formatId(adminId)}`, headers: basic('alice') }), 404)
      const missing = problemOf(await app.inject({ url: '/users/00000099999', headers: basic('alice') }), 404)
      t.same({ ...hidden, detail: '', instance: '' }, { ...missing, detail: '', instance: '' }, 'hidden and missing answer alike')
      t.equal(hidden.detail, `no such user ${adminId}`)
      problemOf(await app.inject({ url: `/users/${formatId(aliceId)}` }), 404)

      const edited = await app.inject({
        method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: basic('alice'), payload: { firstname: 'Alice', email: null }
      })
      t.equal(edited.statusCode, 200)
      t.equal(edited.json().firstname, 'Alice')
      t.notOk('email' in edited.json(), 'an email set to null is omitted')
      const promote = problemOf(await app.inject({
        method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: basic('alice'), payload: { is_admin: true }
      }), 403)
      t.match(promote.detail, /is_admin/)
      problemOf(await app.inject({ method: 'PATCH', url: `/users/${formatId(adminId)}`, headers: basic('alice'), payload: { firstname: 'x' } }), 404)

      const moved = await app.inject({ method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: basic('alice'), payload: { password: 'new secret' } })
      t.equal(moved.statusCode, 200)
      problemOf(await app.inject({ url: `/users/${formatId(aliceId)}`, headers: basic('alice') }), 401)
      t.equal((await app.inject({ url: `/users/${formatId(aliceId)}`, headers: basic('alice', 'new secret') })).statusCode, 200)
      await app.inject({ method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: basic('alice', 'new secret'), payload: { password } })
    })

    t.test('administrators suspend users, who are then refused with the message', async (t) => {
      const suspended = await app.inject({
        method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: admin, payload: { status: 'suspended', status_message: 'too many jobs' }
      })
      t.equal(suspended.statusCode, 200)
      t.equal(suspended.json().status_message, 'too many jobs')
      const refused = problemOf(await app.inject({ url: '/servers', headers: basic('alice') }), 403)
      t.equal(refused.account_status, 'suspended')
      t.equal(refused.status_message, 'too many jobs')
      const restored = await app.inject({
        method: 'PATCH', url: `/users/${formatId(aliceId)}`, headers: admin, payload: { status: 'active', status_message: null }
      })
      t.notOk('status_message' in restored.json())
      problemOf(await app.inject({ method: 'PATCH', url: `/users/${formatId(adminId)}`, headers: admin, payload: { is_admin: false } }), 409)
    })

    t.test('users manage their own API keys; the secret is shown once', async (t) => {
      const url = `/users/${formatId(aliceId)}/api-keys`
      const issued = await app.inject({ method: 'POST', url, headers: basic('alice'), payload: { label: 'laptop' } })
      t.equal(issued.statusCode, 201)
      const { id, key, label } = issued.json()
      t.equal(label, 'laptop')
      t.equal(issued.headers.location, `${url}/${id}`)
      const listed = await app.inject({ url, headers: basic('alice') })
      t.same(Object.keys(listed.json()), [id])
      t.notOk(listed.body.includes(key), 'the secret is never listed')
      t.equal(listed.json()[id].hint, key.slice(0, 7), 'the hint is the prefix and four characters, not a real part of the secret')

      for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }]) {
        t.equal((await app.inject({ url: `/users/${formatId(aliceId)}`, headers })).statusCode, 200)
      }
      t.equal((await app.inject({ url: `/users/${formatId(aliceId)}?api_key=${key}` })).statusCode, 200, 'api_key is a credential, not an unknown parameter')
      problemOf(await app.inject({ url, headers: basic('bob') }), 404)
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/${id}`, headers: basic('bob') }), 404)
      t.equal((await app.inject({ method: 'DELETE', url: `${url}/${id}`, headers: basic('alice') })).statusCode, 204)
      problemOf(await app.inject({ url: `/users/${formatId(aliceId)}`, headers: { 'x-api-key': key } }), 401)
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/99999`, headers: basic('alice') }), 404)
    })
  })

  t.test(`${kind}: repeated failed logins are throttled with Retry-After`, async (t) => {
    const { app, domain } = await build(t, { kind, env: { LOGIN_MAX_FAILURES: '3' } })
    await seedUser(domain, 'bob')
    for (let i = 0; i < 3; i++) problemOf(await app.inject({ url: '/servers', headers: basic('bob', 'wrong') }), 401)
    const throttled = await app.inject({ url: '/servers', headers: basic('bob') })
    const problem = problemOf(throttled, 429)
    t.ok(Number(throttled.headers['retry-after']) > 0)
    t.equal(problem.retry_after, Number(throttled.headers['retry-after']))
  })
}
