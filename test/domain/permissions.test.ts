import t from 'tap'
import { systemActor, type Actor } from '../../src/domain/actor.ts'
import type { Domain } from '../../src/domain/index.ts'
import { databaseKinds } from '../helper.ts'
import { roles, seededDomain, type Role, type Seed } from '../fixtures.ts'

/** What a call gives: 'ok', or the error code it threw. */
async function outcome (work: () => Promise<unknown>): Promise<string> {
  try {
    await work()
    return 'ok'
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === undefined) throw error
    return code
  }
}

type Who = Role | 'anonymous'
const everyone: Who[] = [...roles, 'anonymous']

async function matrix (actors: Seed['actors'], work: (actor: Actor, who: Who) => Promise<unknown>): Promise<Record<string, string>> {
  const result: Record<string, string> = {}
  for (const who of everyone) result[who] = await outcome(() => work(actors[who], who))
  return result
}

const refused = { suspended: 'forbidden', pending: 'forbidden' }

for (const kind of databaseKinds) {
  t.test(`${kind}: permission rules for each role`, async (t) => {
    const { domain, ...s }: Seed & { domain: Domain } = await seededDomain(t, kind)

    t.test('servers are public; writing them is for administrators', async (t) => {
      t.same(await matrix(s.actors, (a) => domain.servers.list(a)), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'ok', watcher: 'ok', groupie: 'ok', outsider: 'ok', anonymous: 'ok', ...refused
      })
      t.same(await matrix(s.actors, (a, who) => domain.servers.create(a, { name: `s-${who}`, url: 'http://x.example' })), {
        admin: 'ok', owner: 'forbidden', manager: 'forbidden', contributor: 'forbidden', watcher: 'forbidden',
        groupie: 'forbidden', outsider: 'forbidden', anonymous: 'unauthenticated', ...refused
      })
    })

    t.test('services listed and authorized per caller', async (t) => {
      const seen: Record<string, string[]> = {}
      for (const who of ['admin', 'owner', 'watcher', 'groupie', 'outsider', 'anonymous'] as const) {
        const { items } = await domain.services.list(s.actors[who])
        seen[who] = items.map((svc) => `${svc.fullName}${svc.authorized ? '+' : '-'}`).sort()
      }
      const member = ['assembly::genomics::pasteur+', 'blast::pasteur+', 'clustalw::pasteur-', 'legacy::inactive-', 'shared::genomics::pasteur+']
      t.same(seen.admin, [...member, 'hidden::private::pasteur+'].sort())
      t.same(seen.owner, member)
      t.same(seen.watcher, member)
      t.same(seen.groupie, member, 'a group grant makes a member')
      t.same(seen.outsider, ['blast::pasteur+', 'clustalw::pasteur-', 'hidden::private::pasteur+', 'legacy::inactive-', 'shared::genomics::pasteur-'])
      t.same(seen.anonymous, ['blast::pasteur+', 'clustalw::pasteur-', 'legacy::inactive-', 'shared::genomics::pasteur-'])
      t.equal(await outcome(() => domain.services.get(s.actors.outsider, 'assembly::genomics::pasteur')), 'not_found',
        'a project service that is not exported is invisible to outsiders')
      t.equal(await outcome(() => domain.services.list(s.actors.pending)), 'forbidden')
    })

    t.test('users: listing for administrators, a record for itself', async (t) => {
      t.same(await matrix(s.actors, (a) => domain.users.list(a)), {
        admin: 'ok', owner: 'forbidden', manager: 'forbidden', contributor: 'forbidden', watcher: 'forbidden',
        groupie: 'forbidden', outsider: 'forbidden', anonymous: 'unauthenticated', ...refused
      })
      t.same(await matrix(s.actors, (a) => domain.users.get(a, s.users.watcher.id)), {
        admin: 'ok', owner: 'not_found', manager: 'not_found', contributor: 'not_found', watcher: 'ok',
        groupie: 'not_found', outsider: 'not_found', anonymous: 'not_found', ...refused
      }, 'another user is answered as one that does not exist')
      t.equal(await outcome(() => domain.users.update(s.actors.watcher, s.users.watcher.id, { firstname: 'Wat' })), 'ok')
      t.equal(await outcome(() => domain.users.update(s.actors.watcher, s.users.watcher.id, { is_admin: true })), 'forbidden',
        'a user may not make itself an administrator')
      t.equal(await outcome(() => domain.users.update(s.actors.watcher, s.users.owner.id, { firstname: 'X' })), 'not_found')
    })

    t.test('projects: visible to members and administrators', async (t) => {
      t.same(await matrix(s.actors, (a) => domain.projects.get(a, s.projectId)), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'ok', watcher: 'ok', groupie: 'ok',
        outsider: 'not_found', anonymous: 'not_found', ...refused
      })
      t.same(await matrix(s.actors, (a) => domain.projects.list(a)), {
        admin: 'ok', owner: 'forbidden', manager: 'forbidden', contributor: 'forbidden', watcher: 'forbidden',
        groupie: 'forbidden', outsider: 'forbidden', anonymous: 'unauthenticated', ...refused
      })
      const project = await domain.projects.get(s.actors.owner, s.projectId)
      t.equal(project.standing, 'owner')
      t.same(project.managers, [s.users.manager.id])
      t.same(project.contributors, [s.users.contributor.id, s.users.suspended.id])
      t.same(project.watchers, [s.users.watcher.id])
      t.same(project.favorites.map((f) => f.fullName), ['blast::pasteur'])
      t.equal((await domain.projects.get(s.actors.groupie, s.projectId)).standing, 'contributor')
    })

    t.test('owners and managers manage members and services; contributors add jobs', async (t) => {
      t.same(await matrix(s.actors, (a) => domain.projects.setMember(a, s.projectId, 'outsider', 'watcher')), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'forbidden', watcher: 'forbidden', groupie: 'forbidden',
        outsider: 'forbidden', anonymous: 'not_found', ...refused
      }, 'the outsider was made a watcher by the calls before its own: it sees the project')
      await domain.projects.setMember(systemActor, s.projectId, 'outsider', null)
      t.same(await matrix(s.actors, (a, who) =>
        domain.services.create(a, { name: `svc-${who}`, server: 'pasteur', project: 'genomics', type: 'program' })), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'forbidden', watcher: 'forbidden', groupie: 'forbidden',
        outsider: 'invalid', anonymous: 'invalid', ...refused
      }, 'a project the caller cannot see is no valid reference')
      t.same(await matrix(s.actors, (a) => domain.projects.addJob(a, s.projectId, { name: 'j', service: 'blast::pasteur', inputs: {} })), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'ok', watcher: 'forbidden', groupie: 'ok',
        outsider: 'not_found', anonymous: 'not_found', ...refused
      })
      const queued = async () => (await domain.projects.addJob(systemActor, s.projectId, { service: 'blast::pasteur' })).id
      t.same(await matrix(s.actors, async (a) => domain.projects.cancelJob(a, s.projectId, await queued())), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'ok', watcher: 'forbidden', groupie: 'ok',
        outsider: 'not_found', anonymous: 'not_found', ...refused
      }, 'contributors and above cancel jobs')
      const ended = async () => (await domain.projects.cancelJob(systemActor, s.projectId, await queued())).job.id
      t.same(await matrix(s.actors, async (a) => domain.projects.removeJob(a, s.projectId, await ended())), {
        admin: 'ok', owner: 'ok', manager: 'ok', contributor: 'ok', watcher: 'forbidden', groupie: 'ok',
        outsider: 'not_found', anonymous: 'not_found', ...refused
      }, 'and remove those that ended')
      t.same(await matrix(s.actors, (a) => domain.services.update(a, 'blast::pasteur', { description: 'x' })), {
        admin: 'ok', owner: 'forbidden', manager: 'forbidden', contributor: 'forbidden', watcher: 'forbidden', groupie: 'forbidden',
        outsider: 'forbidden', anonymous: 'unauthenticated', ...refused
      }, 'server-level services are for administrators')
    })

    t.test('only the owner (or an administrator) changes or deletes the project', async (t) => {
      t.equal(await outcome(() => domain.projects.update(s.actors.manager, s.projectId, { description: 'x' })), 'forbidden')
      const { changed } = await domain.projects.update(s.actors.owner, s.projectId, { description: 'new', name: 'genomics' })
      t.same(changed, ['description'], 'only what differs is reported as changed')
      t.equal(await outcome(() => domain.projects.delete(s.actors.manager, s.projectId)), 'forbidden')
      await domain.projects.delete(s.actors.owner, s.projectId)
      t.equal(await outcome(() => domain.projects.get(s.actors.admin, s.projectId)), 'not_found')
      t.equal(await outcome(() => domain.services.get(s.actors.admin, 'assembly::genomics::pasteur')), 'not_found',
        'its services went with it')
    })

    t.test('a refused account is told its status and message', async (t) => {
      const error = await domain.servers.list(s.actors.suspended).catch((e: unknown) => e) as Record<string, unknown>
      t.equal(error.code, 'forbidden')
      t.equal(error.status, 'suspended')
      t.equal(error.statusMessage, 'you abused our resources')
      t.match(error.message, /suspended: you abused our resources/)
    })
  })
}
