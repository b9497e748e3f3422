import t from 'tap'
import { build, databaseKinds } from '../helper.ts'
import { basic, problemOf, seedUser } from './fixtures.ts'
import { formatId } from '../../src/rest/common.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: /groups`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await seedUser(domain, 'admin', { is_admin: true })
    const aliceId = await seedUser(domain, 'alice')
    const bobId = await seedUser(domain, 'bob')
    const admin = basic('admin')

    const created = await app.inject({ method: 'POST', url: '/groups', headers: admin, payload: { name: 'group1', members: ['alice'] } })
    t.equal(created.statusCode, 201)
    t.equal(created.headers.location, '/groups/group1')
    t.same(created.json(), { active: true, description: '', members: ['alice'] })
    problemOf(await app.inject({ method: 'POST', url: '/groups', headers: admin, payload: { name: 'group1' } }), 409)
    const noSuchMember = problemOf(await app.inject({ method: 'POST', url: '/groups', headers: admin, payload: { name: 'g2', members: ['zed'] } }), 400)
    t.same(noSuchMember.errors, [{ field: 'members', message: 'no such user zed' }])
    problemOf(await app.inject({ method: 'POST', url: '/groups', headers: basic('alice'), payload: { name: 'mine' } }), 403)

    const added = await app.inject({ method: 'PUT', url: `/groups/group1/members/${formatId(bobId)}`, headers: admin })
    t.same(added.json().members, ['alice', 'bob'])
    problemOf(await app.inject({ method: 'PUT', url: `/groups/group1/members/${formatId(bobId)}`, headers: basic('alice') }), 403)
    problemOf(await app.inject({ method: 'PUT', url: '/groups/group1/members/99999', headers: admin }), 404)

    t.equal((await app.inject({ url: '/groups/group1', headers: basic('alice') })).statusCode, 200, 'members read their group')
    t.same(Object.keys((await app.inject({ url: `/groups?member=${formatId(bobId)}`, headers: admin })).json()), ['group1'])
    problemOf(await app.inject({ url: '/groups', headers: basic('alice') }), 403)
    problemOf(await app.inject({ url: '/groups' }), 401)

    const user = (await app.inject({ url: `/users/${formatId(aliceId)}`, headers: basic('alice') })).json()
    t.same(user.groups, ['group1'], "the user's groups list it")

    t.equal((await app.inject({ method: 'DELETE', url: `/groups/group1/members/${formatId(aliceId)}`, headers: admin })).statusCode, 204)
    problemOf(await app.inject({ method: 'DELETE', url: `/groups/group1/members/${formatId(aliceId)}`, headers: admin }), 404)
    problemOf(await app.inject({ url: '/groups/group1', headers: basic('alice') }), 404) // no longer a member: the group does not exist for her

    const changed = await app.inject({ method: 'PATCH', url: '/groups/group1', headers: admin, payload: { active: false, members: [] } })
    t.same(changed.json(), { active: false, description: '', members: [] })
    t.equal((await app.inject({ method: 'DELETE', url: '/groups/group1', headers: admin })).statusCode, 204)
    problemOf(await app.inject({ url: '/groups/group1', headers: admin }), 404)
  })
}
