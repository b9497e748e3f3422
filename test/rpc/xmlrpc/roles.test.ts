/**
 * Each role gets, over XML-RPC, exactly what the domain grants it: the same
 * calls made as administrator, project owner, manager, contributor, watcher,
 * an unrelated user, anonymous, and suspended and pending users.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { build, databaseKinds } from '../../helper.ts'
import { listen, runCalls, type Outcome, type PythonCall } from './python.ts'

const roles = ['admin', 'owner', 'manager', 'contributor', 'watcher', 'outsider', 'anonymous', 'suspended', 'pending'] as const
type Role = typeof roles[number]
const userIds: Record<Exclude<Role, 'anonymous'>, number> = {
  admin: 1, owner: 2, manager: 3, contributor: 4, watcher: 5, outsider: 6, suspended: 7, pending: 8
}

/** A result to compare, or the fault code expected. */
type Expect = { ok: unknown } | { ok: 'any' } | { fault: number }
const ok = (value: unknown): Expect => ({ ok: value })
const anyResult: Expect = { ok: 'any' }
const fault = (code: number): Expect => ({ fault: code })
const refused = { suspended: fault(403), pending: fault(403) }

interface Scenario {
  name: string
  method: string
  params: (role: Role) => unknown[]
  expect: Partial<Record<Role, Expect>> & { others: Expect }
}

const scenarios: Scenario[] = [
  { name: 'schema', method: 'schema', params: () => [], expect: { others: anyResult, ...refused } },
  { name: 'list servers', method: 'list', params: () => ['server'], expect: { others: ok(['bio']), ...refused } },
  {
    name: 'list services',
    method: 'list',
    params: () => ['service'],
    expect: { others: ok(['blast::phylo::bio', 'clustal::bio']), outsider: ok(['clustal::bio']), anonymous: ok(['clustal::bio']), ...refused }
  },
  {
    name: 'filter services',
    method: 'filter',
    params: () => ['service', null, { name: 'BLA' }],
    expect: { others: ok(['2']), outsider: ok([]), anonymous: ok([]), ...refused }
  },
  { name: 'list projects', method: 'list', params: () => ['project'], expect: { others: ok(['phylo']), outsider: ok([]), anonymous: ok([]), ...refused } },
  {
    name: 'display project',
    method: 'display',
    params: () => ['project1', 'name', 'owner', 'managers', 'contributors', 'watchers'],
    expect: { others: ok({ name: 'phylo', owner: '2', managers: ['3'], contributors: ['4'], watchers: ['5'] }), outsider: fault(404), anonymous: fault(404), ...refused }
  },
  {
    name: 'set project',
    method: 'set',
    params: (role) => ['project1', `description=by ${role}`],
    expect: {
      admin: ok({ description: 'by admin' }), owner: ok({ description: 'by owner' }), others: fault(403), outsider: fault(404), anonymous: fault(404), ...refused
    }
  },
  {
    name: 'create job',
    method: 'create',
    params: (role) => ['job', 'project=phylo', `name=job by ${role}`],
    // A project the caller may not see is no project: the link fails as for one that does not exist.
    expect: { admin: anyResult, owner: anyResult, manager: anyResult, contributor: anyResult, others: fault(403), outsider: fault(400), anonymous: fault(400), ...refused }
  },
  {
    name: 'create project service',
    method: 'create',
    params: (role) => ['service', `name=s-${role}`, 'server=bio', 'project=phylo', 'type=program'],
    expect: { admin: anyResult, owner: anyResult, manager: anyResult, others: fault(403), outsider: fault(400), anonymous: fault(400), ...refused }
  },
  {
    name: 'create server-level service',
    method: 'create',
    params: (role) => ['service', `name=s-${role}`, 'server=bio', 'type=program'],
    expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused }
  },
  { name: 'list users', method: 'list', params: () => ['user'], expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused } },
  {
    name: 'display own user',
    method: 'display',
    params: (role) => [role === 'anonymous' ? 'user1' : `user${userIds[role]}`, 'username'],
    expect: { others: anyResult, anonymous: fault(404), ...refused }
  },
  {
    name: 'display admin user',
    method: 'display',
    params: () => ['user1', 'username'],
    expect: { admin: ok({ username: 'admin' }), others: fault(404), ...refused }
  },
  {
    name: 'set own name',
    method: 'set',
    params: (role) => [role === 'anonymous' ? 'user1' : `user${userIds[role]}`, `firstname=${role}`],
    expect: { others: anyResult, anonymous: fault(404), ...refused }
  },
  {
    name: 'make oneself administrator',
    method: 'set',
    params: (role) => [role === 'anonymous' ? 'user1' : `user${userIds[role]}`, 'is_admin=yes'],
    expect: { admin: ok({}), others: fault(403), anonymous: fault(404), ...refused }
  },
  {
    name: 'create project',
    method: 'create',
    params: (role) => ['project', `name=p-${role}`],
    expect: { others: anyResult, anonymous: fault(401), ...refused }
  },
  { name: 'create apikey', method: 'create', params: () => ['apikey', 'label=mine'], expect: { others: anyResult, anonymous: fault(401), ...refused } },
  { name: 'list groups', method: 'list', params: () => ['group'], expect: { admin: ok(['lab']), others: fault(403), anonymous: fault(401), ...refused } },
  {
    name: 'display group',
    method: 'display',
    params: () => ['group1', 'name'],
    expect: { admin: ok({ name: 'lab' }), contributor: ok({ name: 'lab' }), others: fault(404), ...refused }
  },
  {
    name: 'create server',
    method: 'create',
    params: (role) => ['server', `name=srv-${role}`, 'url=http://srv.example.org'],
    expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused }
  }
]

function expectationFor (scenario: Scenario, role: Role): Expect {
  return scenario.expect[role] ?? scenario.expect.others
}

function credentials (role: Role): Pick<PythonCall, 'user' | 'password'> {
  return role === 'anonymous' ? {} : role === 'admin' ? { user: 'admin', password: 'secret' } : { user: role, password: `pw-${role}` }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: each role gets what the domain grants, through Python's xmlrpc.client`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await domain.users.create(systemActor, { username: 'admin', password: 'secret', is_admin: true })
    for (const role of ['owner', 'manager', 'contributor', 'watcher', 'outsider'] as const) {
      await domain.users.create(systemActor, { username: role, password: `pw-${role}` })
    }
    await domain.users.create(systemActor, { username: 'suspended', password: 'pw-suspended', status: 'suspended', status_message: 'abuse of resources' })
    await domain.users.create(systemActor, { username: 'pending', password: 'pw-pending', status: 'pending' })
    await domain.servers.create(systemActor, { name: 'bio', url: 'http://bio.example.org' })
    await domain.projects.create(systemActor, { name: 'phylo', owner: 'owner' })
    await domain.projects.setMember(systemActor, 'phylo', 'manager', 'manager')
    await domain.projects.setMember(systemActor, 'phylo', 'contributor', 'contributor')
    await domain.projects.setMember(systemActor, 'phylo', 'watcher', 'watcher')
    await domain.services.create(systemActor, { name: 'clustal', server: 'bio', type: 'program' })
    await domain.services.create(systemActor, { name: 'blast', server: 'bio', project: 'phylo', type: 'program' })
    await domain.groups.create(systemActor, { name: 'lab', members: ['contributor'] })
    const url = await listen(app)

    const calls: PythonCall[] = []
    for (const scenario of scenarios) {
      for (const role of roles) {
        calls.push({ name: `${scenario.name} as ${role}`, method: scenario.method, params: scenario.params(role), ...credentials(role) })
      }
    }
    calls.push({ name: 'display project999 as outsider', method: 'display', params: ['project999'], ...credentials('outsider') })
    // Retiring hides a project from everyone until its owner restores it.
    calls.push(
      { name: 'manager retires project', method: 'action', params: ['retire', 'project1'], ...credentials('manager') },
      { name: 'owner retires project', method: 'action', params: ['retire', 'project1'], ...credentials('owner') },
      { name: 'watcher lists after retire', method: 'list', params: ['project'], ...credentials('watcher') },
      { name: 'owner restores project', method: 'action', params: ['restore', 'project1'], ...credentials('owner') },
      { name: 'watcher lists after restore', method: 'list', params: ['project'], ...credentials('watcher') }
    )
    const results = await runCalls(url, calls)

    for (const scenario of scenarios) {
      for (const role of roles) {
        const name = `${scenario.name} as ${role}`
        const expected = expectationFor(scenario, role)
        const outcome: Outcome | undefined = results[name]
        if ('fault' in expected) {
          t.ok(outcome !== undefined && 'fault' in outcome && outcome.fault[0] === expected.fault, `${name}: fault ${expected.fault}`, { found: outcome })
        } else if (expected.ok === 'any') {
          t.ok(outcome !== undefined && 'result' in outcome, `${name}: allowed`, { found: outcome })
        } else {
          t.same(outcome, { result: expected.ok }, `${name}: allowed, with the expected answer`)
        }
      }
    }
    t.same(results['display project as suspended'], { fault: [403, 'account suspended is suspended: abuse of resources'] },
      'a suspended user is told its status message')
    t.same(results['schema as pending'], { fault: [403, 'account pending is pending'] })
    t.same(results['display project as outsider'], { fault: [404, 'no such project 1'] })
    t.same(results['display project999 as outsider'], { fault: [404, 'no such project 999'] })
    t.match(results['manager retires project'], { fault: [403, /owner role/] })
    t.same(results['owner retires project'], { result: null })
    t.same(results['watcher lists after retire'], { result: ['p-watcher'] })
    t.same(results['owner restores project'], { result: null })
    t.same(results['watcher lists after restore'], { result: ['phylo', 'p-watcher'] })
  })

  t.test(`${kind}: wrong credentials and the login throttle, through Python's xmlrpc.client`, async (t) => {
    const { app, domain } = await build(t, { kind })
    await domain.users.create(systemActor, { username: 'admin', password: 'secret', is_admin: true })
    const url = await listen(app)
    const attempts: PythonCall[] = [1, 2, 3, 4, 5, 6].map((n) =>
      ({ name: `attempt ${n}`, method: 'list', params: ['server'], user: 'nosuchuser', password: 'pw' }))
    const results = await runCalls(url, [
      { name: 'wrong password', method: 'list', params: ['server'], user: 'admin', password: 'wrong' },
      { name: 'wrong api key', method: 'list', params: ['server'], apiKey: 'm2_not-a-key-at-all-000000' },
      ...attempts
    ])
    t.same(results['wrong password'], { fault: [401, 'Invalid login'] })
    t.same(results['wrong api key'], { fault: [401, 'Invalid login'] })
    t.same(results['attempt 1'], { fault: [401, 'Invalid login'] })
    // The throttle counts per username and address: four failures for nosuchuser from this
    // address refuse the fifth; the address's own limit (20) is far off.
    t.same(results['attempt 4'], { fault: [401, 'Invalid login'] })
    t.match(results['attempt 5'], { fault: [429, /^Logins occurring too fast\. Please wait: \d+ seconds\.$/] })
    t.match(results['attempt 6'], { fault: [429, /^Logins occurring too fast\. Please wait: \d+ seconds\.$/] })
  })
}
