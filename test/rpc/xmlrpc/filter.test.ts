/**
 * filter() over HTTP through Python's xmlrpc.client, on both databases: each kind
 * of property (text, list of text, link by id and by key, multilink, boolean,
 * computed boolean, full name, enumeration, date), the sort (text
 * case-insensitively, ids, links, missing values, several keys), the `ids`
 * restriction, and visibility: a filter never finds what the caller cannot list.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { echoTool, password, seed } from '../../fixtures.ts'
import { build, databaseKinds } from '../../helper.ts'
import { listen, runCalls, type PythonCall } from './python.ts'

type Case = [name: string, caller: 'admin' | 'owner' | 'outsider' | 'anonymous', params: unknown[], expected: string[] | { fault: number }]

/** The seeded items' ids by name, as XML-RPC writes them; never assumed from the order of insertion. */
interface Ids {
  service: (name: string) => string
  server: (name: string) => string
  user: (name: string) => string
  project: (name: string) => string
  job: (name: string) => string
  key: (label: string) => string
  group: (name: string) => string
}

/** Looks a seeded item's id up by name; a name the seed lacks is a mistake in the test. */
function named<T extends { id: number }> (what: string, items: T[], nameOf: (item: T) => string): (name: string) => string {
  return (name) => {
    const found = items.find((item) => nameOf(item) === name)
    if (found === undefined) throw new Error(`no ${what} named ${name} was seeded`)
    return String(found.id)
  }
}

/** Ids in ascending order: what filter() answers when no sort is asked for. */
function ascending (ids: string[]): string[] {
  return [...ids].sort((a, b) => Number(a) - Number(b))
}

function cases (year: string, day: string, id: Ids): Case[] {
  const services = (...names: string[]): string[] => ascending(names.map(id.service))
  const servers = (...names: string[]): string[] => ascending(names.map(id.server))
  const allServices = services('blast', 'clustalw', 'legacy', 'assembly', 'shared', 'hidden')
  const allServers = servers('pasteur', 'inactive', 'Beta', 'alpha')
  // Services grouped by a linked item's id, descending or ascending, each group by id: how a link sorts.
  const byLink = (groups: Array<[linked: string, names: string[]]>, descending: boolean): string[] =>
    [...groups].sort(([a], [b]) => descending ? Number(b) - Number(a) : Number(a) - Number(b)).flatMap(([, names]) => names)
  return [
    ['text', 'admin', ['service', null, { name: 'AS' }], services('blast', 'assembly')],
    ['list of text', 'admin', ['service', null, { name: ['BLA', 'hid'] }], services('blast', 'hidden')],
    ['link by id', 'admin', ['service', null, { project: id.project('genomics') }], services('assembly', 'shared')],
    ['link by key', 'admin', ['service', null, { project: 'genomics' }], services('assembly', 'shared')],
    ['link by unknown key', 'admin', ['service', null, { project: 'nosuch' }], []],
    ['link by unknown key or id', 'admin', ['service', null, { project: ['nosuch', id.project('private')] }], services('hidden')],
    ['link of a job to a service', 'admin', ['job', null, { service: 'blast::pasteur' }], ascending([id.job('run 1'), id.job('done')])],
    ['jobs by state, as text', 'admin', ['job', null, { state: 'QUEU' }], ascending([id.job('run 1'), id.job('late')])],
    ['jobs by states', 'admin', ['job', null, { state: ['ok', 'cancelled'] }], [id.job('done')]],
    ['sort jobs by state, in the order of their life', 'admin', ['job', null, {}, [['-', 'state']]], [id.job('done'), ...ascending([id.job('run 1'), id.job('late')])]],
    ['multilink by key', 'admin', ['project', null, { managers: 'manager' }], [id.project('genomics')]],
    ['multilink by id', 'admin', ['project', null, { services: id.service('hidden') }], [id.project('private')]],
    ['multilink of groups', 'admin', ['user', null, { groups: 'lab' }], [id.user('groupie')]],
    ['multilink of members', 'admin', ['group', null, { members: ['groupie', 'nosuch'] }], [id.group('lab')]],
    ['multilink of favorites', 'admin', ['project', null, { favorites: 'blast::pasteur' }], [id.project('genomics')]],
    ['multilink of projects', 'admin', ['user', null, { projects: 'private' }], [id.user('outsider')]],
    ['boolean', 'admin', ['service', null, { disabled: true }], services('clustalw')],
    ['boolean as text', 'admin', ['service', null, { disabled: 'no' }], services('blast', 'legacy', 'assembly', 'shared', 'hidden')],
    ['boolean either', 'admin', ['service', null, { disabled: [true, false] }], allServices],
    ['boolean of servers', 'admin', ['server', null, { active: false }], servers('inactive')],
    ['bad boolean', 'admin', ['server', null, { active: 'perhaps' }], { fault: 400 }],
    ['authorized, administrator', 'admin', ['service', null, { authorized: true }], services('blast', 'assembly', 'shared', 'hidden')],
    ['authorized, outsider', 'outsider', ['service', null, { authorized: true }], services('blast', 'hidden')],
    ['not authorized, outsider', 'outsider', ['service', null, { authorized: false }], services('clustalw', 'legacy', 'shared')],
    ['full name across separators', 'admin', ['service', null, { fullname: 'ly::gen' }], services('assembly')],
    ['full name, one part', 'admin', ['service', null, { fullname: ':genomics:' }], services('assembly', 'shared')],
    ['full name, whole', 'admin', ['service', null, { fullname: 'SHARED::GENOMICS::PASTEUR' }], services('shared')],
    ['full name, server', 'admin', ['service', null, { fullname: 'teur' }], services('blast', 'clustalw', 'assembly', 'shared', 'hidden')],
    ['full name, impossible', 'admin', ['service', null, { fullname: 'a:::b' }], []],
    ['enumeration', 'admin', ['user', null, { status: 'SUSP' }], [id.user('suspended')]],
    ['service type', 'admin', ['service', null, { type: 'gram' }], services('blast', 'clustalw', 'shared', 'hidden')],
    ['date, year', 'admin', ['server', null, { creation: year }], allServers],
    ['date, day', 'admin', ['server', null, { creation: day }], allServers],
    ['date, month', 'admin', ['server', null, { creation: day.slice(0, 7) }], allServers],
    ['date, to the minute', 'admin', ['user', null, { lastlogin: `${day}T00:00` }], []],
    ['date, December', 'admin', ['server', null, { creation: `${Number(year) - 1}-12` }], []],
    ['date, 31 April', 'admin', ['server', null, { creation: '2026-04-31' }], { fault: 400 }],
    ['date, another year', 'admin', ['server', null, { creation: '1999' }], []],
    ['date, any of', 'admin', ['server', null, { creation: ['1999-12', day] }], allServers],
    ['bad date', 'admin', ['server', null, { creation: 'soon' }], { fault: 400 }],
    ['id', 'admin', ['service', null, { id: [id.service('clustalw'), id.service('legacy'), 'x'] }], services('clustalw', 'legacy')],
    ['ids restrict', 'admin', ['service', services('blast', 'assembly', 'hidden'), { name: 'a' }], services('blast', 'assembly')],
    ['ids and id', 'admin', ['service', services('blast', 'assembly', 'hidden'), { id: services('assembly', 'shared') }], services('assembly')],
    ['sort text case-insensitively', 'admin', ['server', null, {}, [['+', 'name']]], ['alpha', 'Beta', 'inactive', 'pasteur'].map(id.server)],
    ['sort text descending', 'admin', ['server', null, {}, [['-', 'name']]], ['pasteur', 'inactive', 'Beta', 'alpha'].map(id.server)],
    ['sort one pair', 'admin', ['service', null, {}, ['-', 'id']], [...allServices].reverse()],
    ['sort link then text', 'admin', ['service', null, {}, [['+', 'server'], ['-', 'name']]], byLink([
      [id.server('pasteur'), ['shared', 'hidden', 'clustalw', 'blast', 'assembly'].map(id.service)],
      [id.server('inactive'), [id.service('legacy')]]
    ], false)],
    ['sort missing last descending, ties by id', 'admin', ['service', null, {}, [['-', 'project']]], [
      ...byLink([[id.project('genomics'), services('assembly', 'shared')], [id.project('private'), services('hidden')]], true),
      ...services('blast', 'clustalw', 'legacy')
    ]],
    ['sort jobs by service', 'admin', ['job', null, {}, [['+', 'service']]],
      byLink([[id.service('blast'), [id.job('run 1'), id.job('done')]], [id.service('hidden'), [id.job('late')]]], false)],
    ['sort jobs by a service out of sight: missing, first', 'owner', ['job', null, {}, [['+', 'service']]], [id.job('late'), id.job('run 1'), id.job('done')]],
    ['jobs by a service out of sight', 'owner', ['job', null, { service: id.service('hidden') }], []],
    ['sort computed', 'outsider', ['service', null, {}, [['-', 'authorized']]], [...services('blast', 'hidden'), ...services('clustalw', 'legacy', 'shared')]],
    ['sort multilink', 'admin', ['project', null, {}, [['-', 'managers']]], [id.project('genomics'), id.project('private')]],
    ['sort password', 'admin', ['user', null, {}, [['+', 'password']]], { fault: 403 }],
    ['search password', 'admin', ['user', null, { password: 'x' }], { fault: 403 }],
    ['filter and sort', 'admin', ['service', null, { server: 'pasteur', type: 'program' }, [['+', 'fullname']]], ['blast', 'clustalw', 'hidden', 'shared'].map(id.service)],
    ['outsider, a project by a name out of sight', 'outsider', ['project', null, { name: 'genomics' }], []],
    ['outsider, a project by a name that does not exist', 'outsider', ['project', null, { name: 'nosuch' }], []],
    ['outsider, its own project', 'outsider', ['project', null, { name: 'PRIV' }], [id.project('private')]],
    ['outsider, services of a project out of sight', 'outsider', ['service', null, { project: id.project('genomics') }], services('shared')],
    ['outsider, a service out of sight by name', 'outsider', ['service', null, { name: 'assembly' }], []],
    ['outsider, jobs out of sight', 'outsider', ['job', null, { name: 'run' }], []],
    ['outsider, users', 'outsider', ['user', null, { username: 'outsider' }], { fault: 403 }],
    ['anonymous, projects', 'anonymous', ['project', null, { name: 'genomics' }], []],
    ['anonymous, services', 'anonymous', ['service', null, { name: 'a' }], services('blast', 'clustalw', 'legacy', 'shared')],
    ['own API keys', 'admin', ['apikey', null, { label: 'O' }, [['-', 'label']]], [id.key('Two'), id.key('one')]],
    ['own API keys, another user', 'outsider', ['apikey', null, {}], []]
  ]
}

for (const kind of databaseKinds) {
  t.test(`${kind}: filter() asks the domain`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await seed(domain)
    await domain.servers.create(systemActor, { name: 'Beta', url: 'https://beta.example.org' })
    await domain.servers.create(systemActor, { name: 'alpha', url: 'https://alpha.example.org' })
    await domain.apiKeys.create(systemActor, 'admin', { label: 'one' })
    await domain.apiKeys.create(systemActor, 'admin', { label: 'Two' })
    const revoked = await domain.apiKeys.create(systemActor, 'admin', { label: 'old' })
    await domain.apiKeys.revoke(systemActor, 'admin', revoked.key.id)
    // Job 2, in genomics, runs the private project's service, which genomics' owner cannot see; job 3 is cancelled.
    await domain.services.setInterface(systemActor, 'hidden::private::pasteur', echoTool)
    await domain.projects.addJob(systemActor, 'genomics', { name: 'late', service: 'hidden::private::pasteur' })
    const done = await domain.projects.addJob(systemActor, 'genomics', { name: 'done', service: 'blast::pasteur' })
    await domain.projects.cancelJob(systemActor, 'genomics', done.id)
    const created = (await domain.servers.get(systemActor, 'pasteur')).createdAt.toISOString()
    const page = { limit: 1000 }
    const ids: Ids = {
      service: named('service', (await domain.services.list(systemActor, {}, page)).items, (item) => item.name),
      server: named('server', (await domain.servers.list(systemActor, {}, page)).items, (item) => item.name),
      user: named('user', (await domain.users.list(systemActor, {}, page)).items, (item) => item.username),
      project: named('project', (await domain.projects.list(systemActor, {}, page)).items, (item) => item.name),
      job: named('job', await domain.projects.listJobs(systemActor), (item) => item.name),
      key: named('API key', await domain.apiKeys.list(systemActor, 'admin'), (item) => item.label),
      group: named('group', (await domain.groups.list(systemActor, {}, page)).items, (item) => item.name)
    }
    const all = cases(created.slice(0, 4), created.slice(0, 10), ids)
    const url = await listen(app)
    const calls: PythonCall[] = all.map(([name, caller, params]) => ({
      name, method: 'filter', params, ...(caller === 'anonymous' ? {} : { user: caller, password })
    }))
    const results = await runCalls(url, calls)
    for (const [name, , , expected] of all) {
      const outcome = results[name]
      if (Array.isArray(expected)) t.same(outcome, { result: expected }, name)
      else t.equal(outcome !== undefined && 'fault' in outcome ? outcome.fault[0] : outcome, expected.fault, `${name}: fault ${expected.fault}`)
    }
  })
}
