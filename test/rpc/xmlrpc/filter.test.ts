/**
 * filter() over HTTP through Python's xmlrpc.client, on both databases: each kind
 * of property (text, list of text, link by id and by key, multilink, boolean,
 * computed boolean, full name, enumeration, date), the sort (text
 * case-insensitively, ids, links, missing values, several keys), the `ids`
 * restriction, and visibility: a filter never finds what the caller cannot list.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { password, seed } from '../../fixtures.ts'
import { build, databaseKinds } from '../../helper.ts'
import { listen, runCalls, type PythonCall } from './python.ts'

// The seed's ids. Users: admin 1, owner 2, manager 3, contributor 4, watcher 5,
// groupie 6, outsider 7. Servers: pasteur 1, inactive 2, then Beta 3 and alpha 4
// added below. Services: blast 1 (server-level), clustalw 2 (disabled), legacy 3
// (on the inactive server), assembly 4 and shared 5 (exported) in genomics,
// hidden 6 in private. Projects: genomics 1 (owner 2), private 2 (outsider's).
type Case = [name: string, caller: 'admin' | 'owner' | 'outsider' | 'anonymous', params: unknown[], expected: string[] | { fault: number }]

function cases (year: string, day: string): Case[] {
  return [
    ['text', 'admin', ['service', null, { name: 'AS' }], ['1', '4']],
    ['list of text', 'admin', ['service', null, { name: ['BLA', 'hid'] }], ['1', '6']],
    ['link by id', 'admin', ['service', null, { project: '1' }], ['4', '5']],
    ['link by key', 'admin', ['service', null, { project: 'genomics' }], ['4', '5']],
    ['link by unknown key', 'admin', ['service', null, { project: 'nosuch' }], []],
    ['link by unknown key or id', 'admin', ['service', null, { project: ['nosuch', '2'] }], ['6']],
    ['link of a job to a service', 'admin', ['job', null, { service: 'assembly::genomics::pasteur' }], ['1']],
    ['multilink by key', 'admin', ['project', null, { managers: 'manager' }], ['1']],
    ['multilink by id', 'admin', ['project', null, { services: '6' }], ['2']],
    ['multilink of groups', 'admin', ['user', null, { groups: 'lab' }], ['6']],
    ['multilink of members', 'admin', ['group', null, { members: ['groupie', 'nosuch'] }], ['1']],
    ['multilink of favorites', 'admin', ['project', null, { favorites: 'blast::pasteur' }], ['1']],
    ['multilink of projects', 'admin', ['user', null, { projects: 'private' }], ['7']],
    ['boolean', 'admin', ['service', null, { disabled: true }], ['2']],
    ['boolean as text', 'admin', ['service', null, { disabled: 'no' }], ['1', '3', '4', '5', '6']],
    ['boolean either', 'admin', ['service', null, { disabled: [true, false] }], ['1', '2', '3', '4', '5', '6']],
    ['boolean of servers', 'admin', ['server', null, { active: false }], ['2']],
    ['bad boolean', 'admin', ['server', null, { active: 'perhaps' }], { fault: 400 }],
    ['authorized, administrator', 'admin', ['service', null, { authorized: true }], ['1', '4', '5', '6']],
    ['authorized, outsider', 'outsider', ['service', null, { authorized: true }], ['1', '6']],
    ['not authorized, outsider', 'outsider', ['service', null, { authorized: false }], ['2', '3', '5']],
    ['full name across separators', 'admin', ['service', null, { fullname: 'ly::gen' }], ['4']],
    ['full name, one part', 'admin', ['service', null, { fullname: ':genomics:' }], ['4', '5']],
    ['full name, whole', 'admin', ['service', null, { fullname: 'SHARED::GENOMICS::PASTEUR' }], ['5']],
    ['full name, server', 'admin', ['service', null, { fullname: 'teur' }], ['1', '2', '4', '5', '6']],
    ['full name, impossible', 'admin', ['service', null, { fullname: 'a:::b' }], []],
    ['enumeration', 'admin', ['user', null, { status: 'SUSP' }], ['8']],
    ['service type', 'admin', ['service', null, { type: 'gram' }], ['1', '2', '5', '6']],
    ['date, year', 'admin', ['server', null, { creation: year }], ['1', '2', '3', '4']],
    ['date, day', 'admin', ['server', null, { creation: day }], ['1', '2', '3', '4']],
    ['date, month', 'admin', ['server', null, { creation: day.slice(0, 7) }], ['1', '2', '3', '4']],
    ['date, to the minute', 'admin', ['user', null, { lastlogin: `${day}T00:00` }], []],
    ['date, December', 'admin', ['server', null, { creation: `${Number(year) - 1}-12` }], []],
    ['date, 31 April', 'admin', ['server', null, { creation: '2026-04-31' }], { fault: 400 }],
    ['date, another year', 'admin', ['server', null, { creation: '1999' }], []],
    ['date, any of', 'admin', ['server', null, { creation: ['1999-12', day] }], ['1', '2', '3', '4']],
    ['bad date', 'admin', ['server', null, { creation: 'soon' }], { fault: 400 }],
    ['id', 'admin', ['service', null, { id: ['2', '3', 'x'] }], ['2', '3']],
    ['ids restrict', 'admin', ['service', ['1', '4', '6'], { name: 'a' }], ['1', '4']],
    ['ids and id', 'admin', ['service', ['1', '4', '6'], { id: ['4', '5'] }], ['4']],
    ['sort text case-insensitively', 'admin', ['server', null, {}, [['+', 'name']]], ['4', '3', '2', '1']],
    ['sort text descending', 'admin', ['server', null, {}, [['-', 'name']]], ['1', '2', '3', '4']],
    ['sort one pair', 'admin', ['service', null, {}, ['-', 'id']], ['6', '5', '4', '3', '2', '1']],
    ['sort link then text', 'admin', ['service', null, {}, [['+', 'server'], ['-', 'name']]], ['5', '6', '2', '1', '4', '3']],
    ['sort missing last descending, ties by id', 'admin', ['service', null, {}, [['-', 'project']]], ['6', '4', '5', '1', '2', '3']],
    ['sort jobs by service', 'admin', ['job', null, {}, [['+', 'service']]], ['1', '2']],
    ['sort jobs by a service out of sight: missing, first', 'owner', ['job', null, {}, [['+', 'service']]], ['2', '1']],
    ['jobs by a service out of sight', 'owner', ['job', null, { service: '6' }], []],
    ['sort computed', 'outsider', ['service', null, {}, [['-', 'authorized']]], ['1', '6', '2', '3', '5']],
    ['sort multilink', 'admin', ['project', null, {}, [['-', 'managers']]], ['1', '2']],
    ['sort password', 'admin', ['user', null, {}, [['+', 'password']]], { fault: 403 }],
    ['search password', 'admin', ['user', null, { password: 'x' }], { fault: 403 }],
    ['filter and sort', 'admin', ['service', null, { server: 'pasteur', type: 'program' }, [['+', 'fullname']]], ['1', '2', '6', '5']],
    ['outsider, a project by a name out of sight', 'outsider', ['project', null, { name: 'genomics' }], []],
    ['outsider, a project by a name that does not exist', 'outsider', ['project', null, { name: 'nosuch' }], []],
    ['outsider, its own project', 'outsider', ['project', null, { name: 'PRIV' }], ['2']],
    ['outsider, services of a project out of sight', 'outsider', ['service', null, { project: '1' }], ['5']],
    ['outsider, a service out of sight by name', 'outsider', ['service', null, { name: 'assembly' }], []],
    ['outsider, jobs out of sight', 'outsider', ['job', null, { name: 'run' }], []],
    ['outsider, users', 'outsider', ['user', null, { username: 'outsider' }], { fault: 403 }],
    ['anonymous, projects', 'anonymous', ['project', null, { name: 'genomics' }], []],
    ['anonymous, services', 'anonymous', ['service', null, { name: 'a' }], ['1', '2', '3', '5']],
    ['own API keys', 'admin', ['apikey', null, { label: 'O' }, [['-', 'label']]], ['2', '1']],
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
    // Job 2, in genomics, runs the private project's service, which genomics' owner cannot see.
    await domain.projects.addJob(systemActor, 'genomics', { name: 'late', service: 'hidden::private::pasteur' })
    const created = (await domain.servers.get(systemActor, 'pasteur')).createdAt.toISOString()
    const all = cases(created.slice(0, 4), created.slice(0, 10))
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
