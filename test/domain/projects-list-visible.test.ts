import t from 'tap'
import { anonymous, systemActor, type Actor } from '../../src/domain/index.ts'
import { build, databaseKinds } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: Projects.listVisible lists what the actor can see`, async (t) => {
    const { domain } = await build(t, { kind })
    const users: Record<string, Actor> = {}
    for (const username of ['owner', 'member', 'grouped', 'stranger', 'frozen']) {
      const user = await domain.users.create(systemActor, { username, status: username === 'frozen' ? 'suspended' : 'active' })
      users[username] = { kind: 'user', id: user.id, username, isAdmin: false, status: user.status, statusMessage: null }
    }
    await domain.projects.create(systemActor, { name: 'alpha', owner: 'owner' })
    await domain.projects.create(systemActor, { name: 'beta', owner: 'owner' })
    await domain.projects.create(systemActor, { name: 'gamma', owner: 'stranger' })
    await domain.projects.setMember(systemActor, 'beta', 'member', 'watcher')
    await domain.groups.create(systemActor, { name: 'lab', members: ['grouped'] })
    await domain.projects.setGroupGrant(systemActor, 'gamma', 'lab', 'contributor')
    await domain.projects.setRetired(systemActor, 'alpha', true)

    const names = async (actor: Actor, filter = {}) => (await domain.projects.listVisible(actor, filter)).items.map((p) => p.name)
    t.same(await names(systemActor), ['beta', 'gamma'], 'administrators see every live project')
    t.same(await names(systemActor, { includeRetired: true }), ['alpha', 'beta', 'gamma'])
    t.same(await names(users.owner!), ['beta'], 'owners see theirs; retired ones are hidden')
    t.same(await names(users.member!), ['beta'], 'direct members')
    t.same(await names(users.grouped!), ['gamma'], 'members through a group')
    t.same(await names(users.stranger!, { name: { contains: 'GAM' } }), ['gamma'], 'filters apply')
    t.same(await names(anonymous), [], 'anonymous callers see none')
    await t.rejects(domain.projects.listVisible(users.frozen!), { code: 'forbidden', status: 'suspended' })
    await t.rejects(domain.projects.list(users.owner!), { code: 'forbidden' }, 'list itself stays for administrators')
  })
}
