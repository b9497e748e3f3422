/**
 * src/domain/services.ts, a program's interface: what the read model remembers is
 * forgotten when the interface changes; the database itself keeps an interface on
 * programs only; imported and retired services carry none.
 */
import t from 'tap'
import { systemActor } from '../../src/domain/actor.ts'
import { databaseKinds } from '../helper.ts'
import { seededDomain } from '../fixtures.ts'

function sortTool (label: string, inputs: Record<string, unknown> = { file: { type: 'File', inputBinding: {} } }): Record<string, unknown> {
  return { cwlVersion: 'v1.2', class: 'CommandLineTool', label, baseCommand: 'sort', inputs, outputs: { sorted: 'stdout' } }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: interfaces in the domain`, async (t) => {
    const { domain, db, actors } = await seededDomain(t, kind)
    const blast = 'blast::pasteur'
    // The seeded world's blast runs echo: these tests start from a program without an interface.
    await domain.services.removeInterface(systemActor, blast)

    t.test('reads are remembered until the interface changes', async (t) => {
      await t.rejects(domain.services.interface(actors.watcher, blast), { code: 'not_found' })
      t.same(await domain.services.setInterface(actors.admin, blast, sortTool('one')), { document: sortTool('one'), created: true })
      t.same(await domain.services.interface(actors.watcher, blast), sortTool('one'))
      const schema = await domain.services.inputSchema(actors.watcher, blast)
      t.equal(await domain.services.inputSchema(actors.watcher, blast), schema, 'the same question, the remembered answer')
      t.same(Object.keys(schema.properties as object), ['file'])
      t.same(await domain.services.setInterface(actors.admin, blast, sortTool('two', { lines: { type: 'string[]' } })),
        { document: sortTool('two', { lines: { type: 'string[]' } }), created: false })
      t.same(Object.keys((await domain.services.inputSchema(actors.watcher, blast)).properties as object), ['lines'], 'forgotten once it changed')
      t.equal((await domain.services.get(actors.watcher, blast)).hasInterface, true)
      await domain.services.removeInterface(actors.admin, blast)
      await t.rejects(domain.services.inputSchema(actors.watcher, blast), { code: 'not_found' })
      t.equal((await domain.services.get(actors.watcher, blast)).hasInterface, false)
    })

    t.test('the database keeps an interface on programs only, and has_interface in step', async (t) => {
      await t.rejects(db.prisma.$executeRaw`UPDATE service SET interface = '{}'::jsonb, has_interface = true WHERE name = 'legacy'`,
        'a widget cannot carry one')
      await t.rejects(db.prisma.$executeRaw`UPDATE service SET has_interface = true WHERE name = 'blast'`, 'no flag without a document')
      await t.rejects(db.prisma.$executeRaw`UPDATE service SET interface = '{}'::jsonb WHERE name = 'blast'`, 'no document without its flag')
      await domain.services.setInterface(systemActor, blast, sortTool('three'))
      await t.rejects(db.prisma.$executeRaw`UPDATE service SET type = 'widget' WHERE name = 'blast'`, 'no type change under an interface')
      await domain.services.removeInterface(systemActor, blast)
    })

    t.test('imported, retired and non-program services carry none', async (t) => {
      const server = await db.prisma.server.findFirstOrThrow({ where: { name: 'pasteur' } })
      await db.prisma.service.create({ data: { name: 'copied', serverId: server.id, imported: true, type: 'program', exported: true } })
      await t.rejects(domain.services.setInterface(actors.admin, 'copied::pasteur', sortTool('x')), { code: 'conflict' }, 'a copy of a peer\'s service')
      await t.rejects(domain.services.setInterface(actors.admin, 'assembly::genomics::pasteur', sortTool('x')), { code: 'invalid' }, 'a workflow')
      await domain.services.setRetired(actors.admin, 'clustalw::pasteur', true)
      await t.rejects(domain.services.setInterface(actors.admin, 'clustalw::pasteur', sortTool('x')), { code: 'not_found' }, 'a retired program')
      await t.rejects(domain.services.setInterface(actors.admin, blast, { ...sortTool('x'), stdin: 'x' }), { code: 'invalid' }, 'a document outside the subset')
      await t.rejects(domain.services.interface(actors.admin, blast), { code: 'not_found' }, 'which left nothing behind')
    })
  })

  t.test(`${kind}: removing an interface cancels the service's queued jobs`, async (t) => {
    const { domain, actors, projectId, jobId } = await seededDomain(t, kind)
    const [running] = await domain.jobQueue.claim('test-worker', 'local', 1)
    t.equal(running?.id, jobId, 'the seeded job runs')
    const queued = await domain.projects.addJob(actors.contributor, projectId, { service: 'blast::pasteur', inputs: { message: 'later' } })
    await t.rejects(domain.services.removeInterface(actors.owner, 'blast::pasteur'), { code: 'forbidden' })
    t.equal((await domain.projects.getJob(actors.watcher, queued.id)).state, 'queued', 'a refused removal cancels nothing')
    await domain.services.removeInterface(actors.admin, 'blast::pasteur')
    const cancelled = await domain.projects.getJob(actors.watcher, queued.id)
    t.match(cancelled, { state: 'cancelled', message: 'cancelled before it ran: the interface of blast::pasteur was removed' })
    t.same(cancelled.history.map((e) => e.state), ['queued', 'cancelled'])
    t.equal((await domain.projects.getJob(actors.watcher, jobId)).state, 'running', 'a running job is left to its dispatcher')
    await t.rejects(domain.services.removeInterface(actors.admin, 'blast::pasteur'), { code: 'not_found' })
  })
}
