import t from 'tap'
import { openDomain, systemActor, type Actor } from '../../src/domain/index.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: suspended and pending accounts are refused servers too`, async (t) => {
    const domain = openDomain((await freshDatabase(t, kind)).prisma).domain
    await domain.servers.create(systemActor, { name: 'main', url: 'http://main.example' })
    for (const status of ['suspended', 'pending'] as const) {
      const actor: Actor = { kind: 'user', id: 5, username: 'x', isAdmin: false, status, statusMessage: 'why' }
      await t.rejects(domain.servers.list(actor), { code: 'forbidden', status })
      await t.rejects(domain.servers.get(actor, 'main'), { code: 'forbidden', status })
    }
    t.equal((await domain.servers.list({ kind: 'anonymous' })).total, 1, 'anonymous callers still read servers')
  })
}
