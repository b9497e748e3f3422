/**
 * src/domain/services.ts: server-level services created together are inserted in
 * one statement; each caller is still told its own outcome, as if alone.
 */
import t from 'tap'
import { systemActor } from '../../src/domain/actor.ts'
import { Conflict, Invalid } from '../../src/domain/errors.ts'
import { databaseKinds } from '../helper.ts'
import { seededDomain } from '../fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: server-level creates that arrive together are each answered as if alone`, async (t) => {
    const { domain, db } = await seededDomain(t, kind)
    await domain.services.create(systemActor, { name: 'existing', server: 'pasteur', type: 'program' })
    await domain.servers.create(systemActor, { name: 'retiring', url: 'https://retiring.example.org' })
    await domain.servers.setRetired(systemActor, 'retiring', true)

    // All in one turn of the event loop: one batch.
    const asked = [
      { name: 'first', server: 'pasteur', type: 'program', description: 'one' },
      { name: 'first', server: 'pasteur', type: 'widget' },
      { name: 'elsewhere', server: 'nowhere', type: 'program' },
      { name: 'retired', server: 'retiring', type: 'program' },
      { name: 'existing', server: 'pasteur', type: 'program' },
      { name: 'second', server: 'pasteur', type: 'workflow', exported: true, disabled: true }
    ]
    const outcomes = await Promise.allSettled(asked.map(async (input) => await domain.services.create(systemActor, input)))
    const [first, again, nowhere, retired, existing, second] = outcomes as [PromiseSettledResult<unknown>, ...Array<PromiseSettledResult<unknown>>]
    const reason = (outcome: PromiseSettledResult<unknown> | undefined): unknown => outcome?.status === 'rejected' ? outcome.reason : undefined
    t.match(first, { status: 'fulfilled', value: { name: 'first', server: 'pasteur', type: 'program', description: 'one', exported: false, disabled: false } })
    t.match(second, { status: 'fulfilled', value: { name: 'second', type: 'workflow', exported: true, disabled: true, description: '', authorized: false } })
    for (const [outcome, why] of [[again, 'the same name earlier in the batch'], [existing, 'a name taken before']] as const) {
      const error = reason(outcome)
      t.ok(error instanceof Conflict && error.field === 'name', `Conflict on the name: ${why}`)
    }
    for (const [outcome, server] of [[nowhere, 'nowhere'], [retired, 'retiring']] as const) {
      const error = reason(outcome)
      t.ok(error instanceof Invalid && error.fields[0]?.field === 'server', `Invalid server: ${server}`)
      t.match(outcome, { reason: { message: new RegExp(`no such server ${server}`) } })
    }
    t.same((await db.prisma.service.findMany({ where: { name: { in: ['first', 'second', 'elsewhere', 'retired'] } }, select: { name: true, type: true } }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    [{ name: 'first', type: 'program' }, { name: 'second', type: 'workflow' }], 'only the two created are stored')
    const read = await domain.services.get(systemActor, 'second::pasteur')
    t.same(read, (second as PromiseFulfilledResult<unknown>).value, 'each answer is what is read back')
  })
}
