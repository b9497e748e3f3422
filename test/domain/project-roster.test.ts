import t from 'tap'
import { systemActor } from '../../src/domain/actor.ts'
import { openDomain } from '../../src/domain/index.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'
import { seed } from '../fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: replacing the holders of a role`, async (t) => {
    const db = await freshDatabase(t, kind)
    const domain = openDomain(db.prisma).domain
    const s = await seed(domain)
    const { users } = s

    const { item, changed } = await domain.projects.update(s.actors.manager, s.projectId, { watchers: ['outsider', users.groupie.id] })
    t.same(changed, ['watchers'], 'a manager may replace the watchers')
    t.same(item.watchers, [users.groupie.id, users.outsider.id].sort((a, b) => a - b), 'the old watcher is gone, the new ones are in')

    const promoted = await domain.projects.update(s.actors.owner, s.projectId, { managers: ['manager', 'outsider'] })
    t.same(promoted.changed, ['managers', 'watchers'], 'moving a user to another role changes both lists')
    t.same(promoted.item.watchers, [users.groupie.id])

    t.same((await domain.projects.update(s.actors.owner, s.projectId, { managers: ['outsider', 'manager'] })).changed, [],
      'the same holders in another order change nothing')

    await t.rejects(domain.projects.update(s.actors.manager, s.projectId, { description: 'x', watchers: [] }), { code: 'forbidden' },
      'renaming or describing stays with the owner, even beside a roster change')
    await t.rejects(domain.projects.update(s.actors.contributor, s.projectId, { watchers: [] }), { code: 'forbidden' })

    const before = await domain.projects.get(systemActor, s.projectId)
    await t.rejects(domain.projects.update(s.actors.owner, s.projectId, { watchers: ['watcher', 'ghost'] }),
      { code: 'invalid', fields: [{ field: 'watchers', message: 'no such user ghost' }] })
    await t.rejects(domain.projects.update(s.actors.owner, s.projectId, { watchers: ['owner'] }), { code: 'conflict' })
    await t.rejects(domain.projects.update(s.actors.owner, s.projectId, { watchers: ['watcher'], managers: ['watcher'] }),
      { code: 'invalid', fields: [{ field: 'watchers', message: 'user watcher is also listed among the managers' }] })
    await t.rejects(domain.projects.update(s.actors.owner, s.projectId, { watchers: 'watcher' }), { code: 'invalid' })
    const after = await domain.projects.get(systemActor, s.projectId)
    t.same(after.members, before.members, 'a refused update writes nothing')
  })
}
