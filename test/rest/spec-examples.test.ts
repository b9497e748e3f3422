/**
 * The example documents of the mobyle2 HTTP API specification, served back: each
 * test seeds the data an example describes and compares the JSON, key by key.
 *
 * Where the spec's text is inconsistent, the data is adjusted and the example
 * with it: `server_1` / `project` inside entries keyed `…::project1::server1`
 * become `server1` / `project1`; the addresses `herve@example@com` (not an
 * address) and `[email protected]` (obfuscated when the page was copied) become
 * `herve@example.com` and `guest@example.com`; the favorite `server1/p` becomes
 * the full name `p::server1`; and the single-project example, whose services,
 * jobs and data are empty although the listing gives them, is compared with the
 * project's entry in the listing, which it is said to repeat. Services are listed
 * sorted by name, so `workflow3` comes before `workflow_1` (ASCII order).
 */
import t, { type Test } from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { build, databaseKinds } from '../helper.ts'
import { basic, password } from './fixtures.ts'

/** Every key of the example has the example's value; other keys are only the allowed additions. */
function matchesExample (t: Test, actual: Record<string, unknown>, example: Record<string, unknown>, additions: string[], what: string): void {
  for (const key of Object.keys(example)) t.same(actual[key], example[key], `${what}.${key}`)
  const extra = Object.keys(actual).filter((key) => !(key in example) && !additions.includes(key))
  t.same(extra, [], `${what}: no keys beyond the example's and the allowed additions`)
}

function matchesCollection (t: Test, actual: Record<string, Record<string, unknown>>, example: Record<string, Record<string, unknown>>, additions: string[]): void {
  for (const [key, entry] of Object.entries(example)) {
    t.ok(key in actual, `entry ${key} is served`)
    matchesExample(t, actual[key] ?? {}, entry, additions, key)
  }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: GET /servers/ and /servers/server1/`, async (t) => {
    const { app, domain } = await build(t, { kind })
    for (const [server, services] of [['server1', ['service_1', 'service_2', 'service_3']], ['server2', ['service_2', 'service_4', 'service_6']]] as const) {
      await domain.servers.create(systemActor, { name: server, url: `http://${server}.example`, active: true })
      for (const name of services) await domain.services.create(systemActor, { name, server, type: 'program' })
    }
    const example = {
      server1: { url: 'http://server1.example', services: ['service_1', 'service_2', 'service_3'], active: true },
      server2: { url: 'http://server2.example', services: ['service_2', 'service_4', 'service_6'], active: true }
    }
    const list = (await app.inject({ url: '/servers/' })).json()
    t.same(Object.keys(list), ['server1', 'server2'])
    matchesCollection(t, list, example, ['description'])
    matchesExample(t, (await app.inject({ url: '/servers/server1/' })).json(), example.server1, ['description'], 'server1')
  })

  t.test(`${kind}: GET /services/ and /services/service1::project1::server1`, async (t) => {
    const { app, domain } = await build(t, { kind })
    const owner = await domain.users.create(systemActor, { username: 'owner', password })
    await domain.servers.create(systemActor, { name: 'server1', url: 'http://server1.example' })
    await domain.projects.create(systemActor, { name: 'project1', owner: owner.id })
    for (const name of ['service1', 'service2']) {
      await domain.services.create(systemActor, { name, server: 'server1', project: 'project1', type: 'program', exported: true })
    }
    const entry = (name: string) => ({ name, server: 'server1', project: 'project1', type: 'program', exported: true, disabled: false, authorized: true })
    const example = { 'service1::project1::server1': entry('service1'), 'service2::project1::server1': entry('service2') }
    const list = (await app.inject({ url: '/services/', headers: basic('owner') })).json()
    t.same(Object.keys(list), Object.keys(example))
    matchesCollection(t, list, example, ['description'])
    const one = (await app.inject({ url: '/services/service1::project1::server1', headers: basic('owner') })).json()
    matchesExample(t, one, entry('service1'), ['description'], 'service1')
    t.equal((await app.inject({ url: '/services/service1::project1::server1' })).json().authorized, false,
      'anonymous callers see the exported service but may not call it')
  })

  t.test(`${kind}: GET /users/, /users/00000000004, /projects and /projects/00000000001`, async (t) => {
    const { app, domain } = await build(t, { kind })
    // The example numbers users, projects, jobs and data from 1 in the order below; the
    // database numbers them as it will: each example id is translated to the seeded one.
    const userIds: number[] = []
    const projectIds: number[] = []
    const jobIds: number[] = []
    const dataIds: number[] = []
    const user = async (username: string, fields: Record<string, unknown>): Promise<void> => {
      userIds.push((await domain.users.create(systemActor, { username, ...fields })).id)
    }
    const seeded = (ids: number[]) => (exampleId: string | number): number => {
      const id = ids[Number(exampleId) - 1]
      if (id === undefined) throw new Error(`no seeded item for example id ${exampleId}`)
      return id
    }
    const userOf = seeded(userIds)
    const projectOf = seeded(projectIds)
    const padded = (of: (exampleId: string) => number) => (exampleId: string): string => formatId(of(exampleId))
    const [u, p, j, d] = [padded(userOf), padded(projectOf), padded(seeded(jobIds)), padded(seeded(dataIds))] as const
    await user('herve', { email: 'herve@example.com', authentication_type: 'ldap', is_admin: true, password })
    await user('guest', { email: 'guest@example.com', type: 'anonymous' })
    await user('abuser', {
      type: 'anonymous',
      status: 'suspended',
      status_message: 'you have been suspended because you abuse our resources. please contact us if you wish your account to be reactivated'
    })
    await user('newcomer', { type: 'anonymous', status: 'pending' })
    for (let id = 5; id <= 15; id++) await user(`member${id}`, {})
    await domain.groups.create(systemActor, { name: 'group1', members: ['herve'] })
    await domain.groups.create(systemActor, { name: 'group2', members: ['herve'] })
    await domain.servers.create(systemActor, { name: 'server1', url: 'http://server1.example' })
    await domain.services.create(systemActor, { name: 'p', server: 'server1', type: 'program' })
    for (const [name, owner] of [['project1', 1], ['project2', 1], ['project3', 1], ['project4', 2], ['project5', 3], ['project6', 4]] as const) {
      projectIds.push((await domain.projects.create(systemActor, { name, owner: userOf(owner) })).id)
    }
    for (const name of ['workflow_1', 'workflow_2', 'workflow3']) {
      await domain.services.create(systemActor, { name, server: 'server1', project: 'project1', type: 'workflow' })
    }
    for (const member of [10, 12, 15]) await domain.projects.setMember(systemActor, projectOf(1), userOf(member), 'manager')
    await domain.projects.setMember(systemActor, projectOf(1), userOf(11), 'contributor')
    await domain.projects.setMember(systemActor, projectOf(2), userOf(12), 'contributor')
    await domain.services.setInterface(systemActor, 'p::server1', { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'true', inputs: {}, outputs: {} })
    for (const name of ['job 1', 'job 2', 'job 3']) jobIds.push((await domain.projects.addJob(systemActor, projectOf(1), { name, service: 'p::server1' })).id)
    for (const name of ['data 1', 'data 2']) dataIds.push((await domain.projects.addData(systemActor, projectOf(1), { name })).id)
    await domain.projects.addFavorite(systemActor, projectOf(1), 'p::server1')
    const admin = basic('herve')

    const usersExample: Record<string, { projects: string[] } & Record<string, unknown>> = {
      '00000000001': {
        email: 'herve@example.com',
        type: 'authenticated',
        authentication_type: 'ldap',
        status: 'active',
        is_admin: true,
        groups: ['group1', 'group2'],
        projects: ['00000000001', '00000000002', '00000000003']
      },
      '00000000002': { email: 'guest@example.com', type: 'anonymous', status: 'active', is_admin: false, groups: [], projects: ['00000000004'] },
      '00000000003': {
        type: 'anonymous',
        status: 'suspended',
        status_message: 'you have been suspended because you abuse our resources. please contact us if you wish your account to be reactivated',
        is_admin: false,
        groups: [],
        projects: ['00000000005']
      },
      '00000000004': { type: 'anonymous', status: 'pending', is_admin: false, groups: [], projects: ['00000000006'] }
    }
    const users = Object.fromEntries(Object.entries(usersExample).map(([id, entry]) => [u(id), { ...entry, projects: entry.projects.map(p) }]))
    const userAdditions = ['username', 'firstname', 'lastname']
    matchesCollection(t, (await app.inject({ url: '/users/', headers: admin })).json(), users, userAdditions)
    matchesExample(t, (await app.inject({ url: `/users/${u('00000000004')}`, headers: admin })).json(), users[u('00000000004')]!, userAdditions, 'user 4')

    type ProjectEntry = Record<'managers' | 'contributors' | 'watchers' | 'services' | 'jobs' | 'data', string[]> & { owner: string, favorites?: string[] }
    const projectsExample: Record<string, ProjectEntry> = {
      '00000000001': {
        owner: '00000000001',
        managers: ['00000000010', '00000000012', '00000000015'],
        contributors: ['00000000011'],
        watchers: [],
        services: ['workflow3', 'workflow_1', 'workflow_2'],
        jobs: ['00000000001', '00000000002', '00000000003'],
        data: ['00000000001', '00000000002'],
        favorites: ['p::server1']
      },
      '00000000002': { owner: '00000000001', managers: [], contributors: ['00000000012'], watchers: [], services: [], jobs: [], data: [] }
    }
    const projects = Object.fromEntries(Object.entries(projectsExample).map(([id, entry]) => [p(id), {
      ...entry,
      owner: u(entry.owner),
      managers: entry.managers.map(u),
      contributors: entry.contributors.map(u),
      watchers: entry.watchers.map(u),
      jobs: entry.jobs.map(j),
      data: entry.data.map(d)
    }]))
    const projectAdditions = ['name', 'description', 'groups']
    const list = (await app.inject({ url: '/projects', headers: admin })).json()
    matchesCollection(t, list, projects, projectAdditions)
    const one = (await app.inject({ url: `/projects/${p('00000000001')}`, headers: admin })).json()
    matchesExample(t, one, projects[p('00000000001')]!, projectAdditions, 'project 1')
    t.same(one, list[p('00000000001')], 'the single project repeats its listing entry')
  })
}
