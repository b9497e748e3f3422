import t from 'tap'
import { openDomain, systemActor, type Actor } from '../../src/domain/index.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: a project's owner may be named by id as well as by username`, async (t) => {
    const domain = openDomain((await freshDatabase(t, kind)).prisma).domain
    const alice = await domain.users.create(systemActor, { username: 'alice', password: 'pw' })
    const bob = await domain.users.create(systemActor, { username: 'bob', password: 'pw' })
    const asAlice: Actor = { kind: 'user', id: alice.id, username: 'alice', isAdmin: false, status: 'active', statusMessage: null }
    const own = await domain.projects.create(asAlice, { name: 'own', owner: alice.id })
    t.equal(own.owner, alice.id, 'naming oneself by id needs no administrator')
    await t.rejects(domain.projects.create(asAlice, { name: 'other', owner: bob.id }), { code: 'forbidden' })
    const forBob = await domain.projects.create(systemActor, { name: 'for-bob', owner: bob.id })
    t.equal(forBob.owner, bob.id)
    await t.rejects(domain.projects.create(systemActor, { name: 'x', owner: 424242 }), { code: 'invalid' })
    await t.rejects(domain.projects.create(systemActor, { name: 'x', owner: 2 ** 31 }), { code: 'invalid' })
    const handed = await domain.projects.update(asAlice, own.id, { owner: bob.id })
    t.same(handed.changed, ['owner'])
    t.equal(handed.item.owner, bob.id)
  })
}
