/**
 * src/domain/projects.ts: owners named by id, the projects an actor can see,
 * replacing the holders of a role, and a job's life as users see it (cancelled,
 * removed once ended, found by state); on the seeded world.
 */
import t from 'tap'
import { anonymous, systemActor, type Actor } from '../../src/domain/index.ts'
import { databaseKinds } from '../helper.ts'
import { seededDomain } from '../fixtures.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: a project's owner may be named by id as well as by username`, async (t) => {
    const { domain, ...s } = await seededDomain(t, kind)
    const { users } = s
    const own = await domain.projects.create(s.actors.owner, { name: 'own', owner: users.owner.id })
    t.equal(own.owner, users.owner.id, 'naming oneself by id needs no administrator')
    await t.rejects(domain.projects.create(s.actors.owner, { name: 'other', owner: users.watcher.id }), { code: 'forbidden' })
    const forWatcher = await domain.projects.create(systemActor, { name: 'for-watcher', owner: users.watcher.id })
    t.equal(forWatcher.owner, users.watcher.id)
    await t.rejects(domain.projects.create(systemActor, { name: 'x', owner: 424242 }), { code: 'invalid' })
    await t.rejects(domain.projects.create(systemActor, { name: 'x', owner: 2 ** 31 }), { code: 'invalid' })
    const handed = await domain.projects.update(s.actors.owner, own.id, { owner: users.watcher.id })
    t.same(handed.changed, ['owner'])
    t.equal(handed.item.owner, users.watcher.id)
  })

  t.test(`${kind}: Projects.listVisible lists what the actor can see`, async (t) => {
    const { domain, ...s } = await seededDomain(t, kind)
    const archive = await domain.projects.create(systemActor, { name: 'archive', owner: 'owner' })
    await domain.projects.setRetired(systemActor, archive.id, true)

    const names = async (actor: Actor, filter = {}) => (await domain.projects.listVisible(actor, filter)).items.map((p) => p.name)
    t.same(await names(systemActor), ['genomics', 'private'], 'administrators see every live project')
    t.same(await names(systemActor, { includeRetired: true }), ['genomics', 'private', 'archive'])
    t.same(await names(s.actors.owner), ['genomics'], 'owners see theirs; retired ones are hidden')
    t.same(await names(s.actors.watcher), ['genomics'], 'direct members')
    t.same(await names(s.actors.groupie), ['genomics'], 'members through a group')
    t.same(await names(s.actors.outsider, { name: { contains: 'PRI' } }), ['private'], 'filters apply')
    t.same(await names(systemActor, { name: { contains: 'PRI' } }), ['private'], 'filters apply to administrators too')
    t.same(await names(anonymous), [], 'anonymous callers see none')
    await t.rejects(domain.projects.listVisible(s.actors.suspended), { code: 'forbidden', status: 'suspended' })
    await t.rejects(domain.projects.list(s.actors.owner), { code: 'forbidden' }, 'list itself stays for administrators')
  })

  t.test(`${kind}: replacing the holders of a role`, async (t) => {
    const { domain, ...s } = await seededDomain(t, kind)
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

  t.test(`${kind}: cancelling and removing jobs, as their state allows`, async (t) => {
    const { domain, ...s } = await seededDomain(t, kind)
    const owner = s.actors.owner
    const job = (await domain.projects.getJob(owner, s.jobId, s.projectId))
    t.match(job, { name: 'run 1', service: 'blast::pasteur', state: 'queued', reason: null, exitCode: null, message: '', inputs: {}, submitter: s.ids.owner })
    t.same(job.history.map((e) => e.state), ['queued'])
    await t.rejects(domain.projects.removeJob(owner, s.projectId, s.jobId), { code: 'conflict', message: /has not ended \(queued\): cancel it first/ })
    await t.rejects(domain.projects.cancelJob(s.actors.outsider, s.otherProjectId, s.jobId), { code: 'not_found' }, 'a job of another project is none of this one')

    const running = await domain.projects.addJob(owner, s.projectId, { name: 'long', service: 'blast::pasteur', inputs: { message: 'hello' } })
    const [first, second] = await domain.jobQueue.claim('test-worker', 'local', 2)
    t.same([first!.id, second!.id], [s.jobId, running.id], 'claimed oldest first')
    const asked = await domain.projects.cancelJob(owner, s.projectId, running.id)
    t.equal(asked.outcome, 'asked')
    t.equal(asked.job.state, 'running')
    await t.rejects(domain.projects.removeJob(owner, s.projectId, running.id), { code: 'conflict' }, 'still running')
    t.ok(await domain.jobQueue.finish(second!, { state: 'cancelled', message: 'stopped' }))
    await t.rejects(domain.projects.cancelJob(owner, s.projectId, running.id), { code: 'conflict', message: `job ${running.id} has ended (cancelled): there is nothing to cancel` })
    t.ok(await domain.jobQueue.finish(first!, { state: 'ok', exitCode: 0 }))
    t.same((await domain.projects.searchJobs(owner, { project: s.projectId, state: ['ok'] })), [s.jobId])
    t.same((await domain.projects.searchJobs(owner, {}, [{ field: 'state', descending: false }])), [s.jobId, running.id], 'by state, in the order of a job\'s life: ok before cancelled')
    t.same((await domain.projects.listJobs(owner, { state: { contains: ['CANCEL'] } })).map((j) => j.id), [running.id])
    const ok = await domain.projects.getJob(owner, s.jobId)
    t.match(ok, { state: 'ok', exitCode: 0, reason: null })
    t.ok(ok.startedAt !== null && ok.finishedAt !== null && ok.startedAt <= ok.finishedAt)
    t.same(ok.history.map((e) => e.state), ['queued', 'running', 'ok'])
    await domain.projects.removeJob(owner, s.projectId, s.jobId)
    await domain.projects.removeJob(owner, s.projectId, running.id)
    t.same(await domain.projects.listJobs(owner), [])
    await t.rejects(domain.projects.removeJob(owner, s.projectId, s.jobId), { code: 'not_found' })
    t.equal((await domain.projects.addJob(systemActor, s.projectId, { service: 'blast::pasteur' })).submitter, null, 'the system submits as nobody')
  })
}
