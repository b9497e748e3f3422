import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { databaseKinds } from '../helper.ts'
import { roles as worldRoles, seededApp } from '../fixtures.ts'
import { basic, problemOf } from './fixtures.ts'

const roles = [...worldRoles, 'anonymous'] as const
type Role = typeof roles[number]
/** Who sees the world's project `genomics`: its members (`groupie` through the group `lab`) and administrators. */
const members: readonly Role[] = ['admin', 'owner', 'manager', 'contributor', 'watcher', 'groupie']

function headersOf (role: Role): Record<string, string> {
  return role === 'anonymous' ? {} : basic(role)
}

/** What a refusal looks like for each caller that is refused. */
/**
 * Suspended and pending accounts are refused everything (403); members lacking a
 * role are refused (403); to anyone else the project does not exist (404).
 */
function refusal (role: Role): number {
  if (role === 'suspended' || role === 'pending') return 403
  return members.includes(role) ? 403 : 404
}

for (const kind of databaseKinds) {
  t.test(`${kind}: /projects`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const { ids } = s
    const project = s.projectId
    const url = `/projects/${formatId(project)}`
    await domain.groups.create(systemActor, { name: 'team', members: ['outsider'] })

    t.test('reading: members and administrators', async (t) => {
      for (const role of roles) {
        const response = await app.inject({ url, headers: headersOf(role) })
        if (members.includes(role)) {
          t.equal(response.statusCode, 200, role)
        } else {
          const problem = problemOf(response, refusal(role))
          if (role === 'suspended' || role === 'pending') t.equal(problem.account_status, role)
        }
      }
      t.same((await app.inject({ url, headers: basic('watcher') })).json(), {
        name: 'genomics',
        description: 'assemblies',
        owner: formatId(ids.owner),
        managers: [formatId(ids.manager)],
        contributors: [ids.contributor, ids.suspended].sort((a, b) => a - b).map(formatId),
        watchers: [formatId(ids.watcher)],
        groups: { lab: 'contributor' },
        services: ['assembly', 'shared'],
        jobs: [formatId(s.jobId)],
        data: [formatId(s.dataId)],
        favorites: ['blast::pasteur']
      })
      const list = await app.inject({ url: '/projects', headers: basic('admin') })
      t.same(Object.keys(list.json()), [formatId(project), formatId(s.otherProjectId)])
      problemOf(await app.inject({ url: '/projects', headers: basic('owner') }), 403)
      t.same(Object.keys((await app.inject({ url: `/projects?member=${formatId(ids.watcher)}`, headers: basic('admin') })).json()), [formatId(project)])
      t.same((await app.inject({ url: `/projects?owner=${ids.watcher}`, headers: basic('admin') })).json(), {})
      problemOf(await app.inject({ url: '/projects/99999', headers: basic('admin') }), 404)
      problemOf(await app.inject({ url: '/projects/99999999999', headers: basic('admin') }), 404)
    })

    t.test('membership and group grants: owner and managers', async (t) => {
      for (const role of roles) {
        const response = await app.inject({
          method: 'PUT', url: `${url}/members/${formatId(ids.outsider)}`, headers: headersOf(role), payload: { role: 'watcher' }
        })
        if (['admin', 'owner', 'manager'].includes(role)) {
          t.equal(response.statusCode, 200, role)
          t.ok(response.json().watchers.includes(formatId(ids.outsider)))
          t.equal((await app.inject({ method: 'DELETE', url: `${url}/members/${formatId(ids.outsider)}`, headers: headersOf(role) })).statusCode, 204)
        } else {
          problemOf(response, refusal(role))
        }
      }
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/members/${formatId(ids.outsider)}`, headers: basic('owner') }), 404)
      problemOf(await app.inject({ method: 'PUT', url: `${url}/members/${formatId(ids.owner)}`, headers: basic('manager'), payload: { role: 'watcher' } }), 409)
      problemOf(await app.inject({ method: 'PUT', url: `${url}/members/${formatId(ids.outsider)}`, headers: basic('owner'), payload: { role: 'boss' } }), 400)
      problemOf(await app.inject({ method: 'PUT', url: `${url}/members/99999`, headers: basic('owner'), payload: { role: 'watcher' } }), 404)

      const granted = await app.inject({ method: 'PUT', url: `${url}/groups/team`, headers: basic('manager'), payload: { role: 'contributor' } })
      t.equal(granted.statusCode, 200)
      t.same(granted.json().groups, { lab: 'contributor', team: 'contributor' })
      t.equal((await app.inject({ url, headers: basic('outsider') })).statusCode, 200, 'the group grant lets its members in')
      problemOf(await app.inject({ method: 'PUT', url: `${url}/groups/team`, headers: basic('contributor'), payload: { role: 'manager' } }), 403)
      t.equal((await app.inject({ method: 'DELETE', url: `${url}/groups/team`, headers: basic('owner') })).statusCode, 204)
      problemOf(await app.inject({ method: 'DELETE', url: `${url}/groups/team`, headers: basic('owner') }), 404)
      problemOf(await app.inject({ url, headers: basic('outsider') }), 404) // the grant gone, the project is out of sight again
    })

    t.test('favorites, jobs and data: contributors and above', async (t) => {
      await domain.projects.removeFavorite(systemActor, project, 'blast::pasteur')
      for (const role of roles) {
        const response = await app.inject({ method: 'PUT', url: `${url}/favorites/blast::pasteur`, headers: headersOf(role) })
        if (['admin', 'owner', 'manager', 'contributor', 'groupie'].includes(role)) {
          t.same(response.json().favorites, ['blast::pasteur'], role)
          t.equal((await app.inject({ method: 'DELETE', url: `${url}/favorites/blast::pasteur`, headers: headersOf(role) })).statusCode, 204)
        } else {
          problemOf(response, role === 'watcher' ? 403 : refusal(role))
        }
      }
      problemOf(await app.inject({ method: 'PUT', url: `${url}/favorites/nothing::pasteur`, headers: basic('owner') }), 400)
      t.match(problemOf(await app.inject({ method: 'DELETE', url: `${url}/favorites/blast::pasteur`, headers: basic('owner') }), 404).detail,
        /favorite/, 'removing a favorite that is none: no such sub-resource')

      const job = await app.inject({
        method: 'POST', url: `${url}/jobs`, headers: basic('contributor'), payload: { name: 'run 2', service: 'blast::pasteur', inputs: { message: 'hi' } }
      })
      t.equal(job.statusCode, 201)
      const jobUrl = job.headers.location as string
      t.match(jobUrl, new RegExp(`^${url}/jobs/\\d{11}$`))
      t.same((await app.inject({ url: jobUrl, headers: basic('watcher') })).json(), { ...job.json() })
      t.same(Object.keys((await app.inject({ url: `${url}/jobs`, headers: basic('watcher') })).json()), [formatId(s.jobId), jobUrl.split('/').pop()])
      problemOf(await app.inject({ method: 'POST', url: `${url}/jobs`, headers: basic('watcher'), payload: { name: 'no', service: 'blast::pasteur' } }), 403)

      const data = await app.inject({ method: 'POST', url: `${url}/data`, headers: basic('owner'), payload: { name: 'seqs.fasta' } })
      t.equal(data.statusCode, 201)
      t.equal(data.json().name, 'seqs.fasta')
      const dataUrl = data.headers.location as string
      t.same((await app.inject({ url: dataUrl, headers: basic('watcher') })).json(), data.json())
      const listed = (await app.inject({ url: `${url}/data`, headers: basic('watcher') })).json()
      t.same(Object.keys(listed), [formatId(s.dataId), dataUrl.split('/').pop()])
      t.same(listed[dataUrl.split('/').pop() ?? ''], data.json())
      const read = (await app.inject({ url, headers: basic('owner') })).json()
      t.same(read.jobs, [formatId(s.jobId), jobUrl.split('/').pop()])
      t.same(read.data, [formatId(s.dataId), dataUrl.split('/').pop()])
      problemOf(await app.inject({ method: 'DELETE', url: dataUrl, headers: basic('watcher') }), 403)
      t.equal((await app.inject({ method: 'DELETE', url: dataUrl, headers: basic('contributor') })).statusCode, 204)
      problemOf(await app.inject({ method: 'DELETE', url: jobUrl, headers: basic('contributor') }), 409)
      t.equal((await app.inject({ method: 'POST', url: `${jobUrl}/cancel`, headers: basic('contributor') })).statusCode, 200)
      t.equal((await app.inject({ method: 'DELETE', url: jobUrl, headers: basic('contributor') })).statusCode, 204)
      problemOf(await app.inject({ url: jobUrl, headers: basic('owner') }), 404)
      problemOf(await app.inject({ url: `${url}/data`, headers: basic('outsider') }), 404)
    })

    t.test('creating, changing and deleting projects', async (t) => {
      const created = await app.inject({ method: 'POST', url: '/projects', headers: basic('outsider'), payload: { name: 'mine' } })
      t.equal(created.statusCode, 201)
      t.equal(created.json().owner, formatId(ids.outsider))
      const mine = created.headers.location as string
      problemOf(await app.inject({ method: 'POST', url: '/projects', headers: basic('owner'), payload: { name: 'mine' } }), 409)
      problemOf(await app.inject({ method: 'POST', url: '/projects', payload: { name: 'anon' } }), 401)
      problemOf(await app.inject({ method: 'POST', url: '/projects', headers: basic('pending'), payload: { name: 'p' } }), 403)
      problemOf(await app.inject({ method: 'POST', url: '/projects', headers: basic('owner'), payload: { name: 'theirs', owner: formatId(ids.watcher) } }), 403)
      const forWatcher = await app.inject({ method: 'POST', url: '/projects', headers: basic('admin'), payload: { name: 'theirs', owner: formatId(ids.watcher) } })
      t.equal(forWatcher.json().owner, formatId(ids.watcher))
      const noOwner = problemOf(await app.inject({ method: 'POST', url: '/projects', headers: basic('admin'), payload: { name: 'x', owner: '99999' } }), 400)
      t.same(noOwner.errors, [{ field: 'owner', message: 'no such user 99999' }])

      problemOf(await app.inject({ method: 'PATCH', url, headers: basic('manager'), payload: { description: 'no' } }), 403)
      const renamed = await app.inject({ method: 'PATCH', url, headers: basic('owner'), payload: { description: 'our lab' } })
      t.equal(renamed.json().description, 'our lab')
      const handed = await app.inject({ method: 'PATCH', url: mine, headers: basic('outsider'), payload: { owner: formatId(ids.owner) } })
      t.equal(handed.statusCode, 200)
      t.equal(handed.json().owner, formatId(ids.owner))
      problemOf(await app.inject({ method: 'DELETE', url: mine, headers: basic('outsider') }), 404) // its former owner no longer sees it
      t.equal((await app.inject({ method: 'DELETE', url: mine, headers: basic('owner') })).statusCode, 204)
      problemOf(await app.inject({ url: mine, headers: basic('admin') }), 404)
    })
  })
}
