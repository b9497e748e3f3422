/** src/domain/servers.ts: servers are public reading, except to refused accounts; on the seeded world. */
import t from 'tap'
import type { Actor } from '../../src/domain/index.ts'
import { databaseKinds } from '../helper.ts'
import { seededDomain } from '../fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: suspended and pending accounts are refused servers too`, async (t) => {
    const { domain, ...s } = await seededDomain(t, kind)
    for (const status of ['suspended', 'pending'] as const) {
      const actor: Actor = s.actors[status]
      await t.rejects(domain.servers.list(actor), { code: 'forbidden', status })
      await t.rejects(domain.servers.get(actor, 'pasteur'), { code: 'forbidden', status })
    }
    t.equal((await domain.servers.list({ kind: 'anonymous' })).total, 2, "anonymous callers still read servers (the world's two)")
  })
}
