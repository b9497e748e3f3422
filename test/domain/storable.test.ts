/**
 * The net under every query: what the database refuses to store or compare
 * becomes the domain's own error, a read that cannot match is NotFound, and
 * errors that mean something else pass through untouched.
 */
import t from 'tap'
import { guardStorage, unstorableText } from '../../src/domain/storable.ts'
import { databaseKinds, freshDatabase } from '../helper.ts'

t.test('unstorable text is found wherever it hides', async (t) => {
  t.same(unstorableText({ a: 'fine', b: ['ok', 'x\u0000'], c: { d: 'a\udc00' }, e: 'emoji \ud83e\uddec', f: 3, g: null }), ['b/1', 'c/d'])
  t.same(unstorableText('\ud800'), ['(value)'])
  t.same(unstorableText(new Date()), [])
})

for (const kind of databaseKinds) {
  t.test(`${kind}: refusals of the database become domain errors`, async (t) => {
    const db = await freshDatabase(t, kind)
    const prisma = guardStorage(db.prisma)
    await t.rejects(prisma.server.findUnique({ where: { name: 'a\u0000b' } }), { code: 'not_found' }, 'a lookup by text with NUL finds nothing')
    await t.rejects(prisma.user.findUnique({ where: { id: 2 ** 31 } }), { code: 'not_found', message: 'no such user 2147483648' })
    await t.rejects(prisma.user.findMany({ where: { id: 1e300 } }), { code: 'not_found' })
    await t.rejects(prisma.server.create({ data: { name: 'nul', url: 'http://x', description: 'a\u0000b' } }),
      { code: 'invalid', fields: [{ message: /NUL/ }] })
    await t.rejects(prisma.job.create({ data: { projectId: 2 ** 31, name: 'x' } }), { code: 'invalid' }, 'a write with an id past the column')
    await t.rejects(prisma.job.create({ data: { projectId: 424242, name: 'x' } }), { code: 'conflict' }, 'a write referring to nothing (a removed project)')
    await prisma.server.create({ data: { name: 'one', url: 'http://one' } })
    await t.rejects(prisma.server.create({ data: { name: 'one', url: 'http://one' } }), { code: 'P2002' }, 'other errors pass through')
    t.equal(await prisma.server.count(), 1, 'nothing half-written')
  })
}
