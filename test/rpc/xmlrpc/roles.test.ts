/**
 * Each role gets, over XML-RPC, exactly what the domain grants it: the same
 * calls made as administrator, project owner, manager, contributor, watcher,
 * a member through a group, an unrelated user, anonymous, and suspended
 * and pending users: the seeded world of test/fixtures.ts.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { databaseKinds } from '../../helper.ts'
import { password, roles as worldRoles, seededApp, suspensionReason, type Seed } from '../../fixtures.ts'
import { listen, runCalls, type Outcome, type PythonCall } from './python.ts'

const roles = [...worldRoles, 'anonymous'] as const
type Role = typeof roles[number]

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

/** The seeded world's services each kind of caller sees, as list() names them. */
const memberServices = ['assembly::genomics::pasteur', 'blast::pasteur', 'clustalw::pasteur', 'legacy::inactive', 'shared::genomics::pasteur']
const publicServices = ['blast::pasteur', 'clustalw::pasteur', 'legacy::inactive', 'shared::genomics::pasteur']

/** The calls, with every designator taken from the seed. */
function scenariosFor (s: Seed, assemblyId: number): Scenario[] {
  const project = `project${s.projectId}`
  const user = (role: Role): string => `user${s.users[role === 'anonymous' ? 'admin' : role].id}`
  const ids = (...who: Array<keyof Seed['users']>): string[] => who.map((role) => s.users[role].id).sort((a, b) => a - b).map(String)
  return [
    { name: 'schema', method: 'schema', params: () => [], expect: { others: anyResult, ...refused } },
    { name: 'list servers', method: 'list', params: () => ['server'], expect: { others: ok(['inactive', 'pasteur']), ...refused } },
    {
      name: 'list services',
      method: 'list',
      params: () => ['service'],
      expect: {
        others: ok(memberServices),
        admin: ok([...memberServices, 'hidden::private::pasteur'].sort()),
        outsider: ok([...publicServices, 'hidden::private::pasteur'].sort()),
        anonymous: ok(publicServices),
        ...refused
      }
    },
    {
      name: 'filter services',
      method: 'filter',
      params: () => ['service', null, { name: 'ASSEM' }],
      expect: { others: ok([String(assemblyId)]), outsider: ok([]), anonymous: ok([]), ...refused }
    },
    {
      name: 'list projects',
      method: 'list',
      params: () => ['project'],
      expect: { others: ok(['genomics']), admin: ok(['genomics', 'private']), outsider: ok(['private']), anonymous: ok([]), ...refused }
    },
    {
      name: 'display project',
      method: 'display',
      params: () => [project, 'name', 'owner', 'managers', 'contributors', 'watchers'],
      expect: {
        others: ok({ name: 'genomics', owner: ids('owner')[0], managers: ids('manager'), contributors: ids('contributor', 'suspended'), watchers: ids('watcher') }),
        outsider: fault(404),
        anonymous: fault(404),
        ...refused
      }
    },
    {
      name: 'set project',
      method: 'set',
      params: (role) => [project, `description=by ${role}`],
      expect: {
        admin: ok({ description: 'by admin' }), owner: ok({ description: 'by owner' }), others: fault(403), outsider: fault(404), anonymous: fault(404), ...refused
      }
    },
    {
      name: 'create job',
      method: 'create',
      params: (role) => ['job', 'project=genomics', `name=job by ${role}`, 'service=blast::pasteur', 'inputs={"message": "hi"}'],
      // A project the caller may not see is no project: the link fails as for one that does not exist.
      expect: {
        admin: anyResult, owner: anyResult, manager: anyResult, contributor: anyResult, groupie: anyResult, others: fault(403), outsider: fault(400), anonymous: fault(400), ...refused
      }
    },
    {
      name: 'create project service',
      method: 'create',
      params: (role) => ['service', `name=s-${role}`, 'server=pasteur', 'project=genomics', 'type=program'],
      expect: { admin: anyResult, owner: anyResult, manager: anyResult, others: fault(403), outsider: fault(400), anonymous: fault(400), ...refused }
    },
    {
      name: 'create server-level service',
      method: 'create',
      params: (role) => ['service', `name=s-${role}`, 'server=pasteur', 'type=program'],
      expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused }
    },
    { name: 'list users', method: 'list', params: () => ['user'], expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused } },
    {
      name: 'display own user',
      method: 'display',
      params: (role) => [user(role), 'username'],
      expect: { others: anyResult, anonymous: fault(404), ...refused }
    },
    {
      name: 'display admin user',
      method: 'display',
      params: () => [user('admin'), 'username'],
      expect: { admin: ok({ username: 'admin' }), others: fault(404), ...refused }
    },
    {
      name: 'set own name',
      method: 'set',
      params: (role) => [user(role), `firstname=${role}-changed`],
      expect: { others: anyResult, anonymous: fault(404), ...refused }
    },
    {
      name: 'make oneself administrator',
      method: 'set',
      params: (role) => [user(role), 'is_admin=yes'],
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
      params: () => [`group${s.groupId}`, 'name'],
      expect: { admin: ok({ name: 'lab' }), groupie: ok({ name: 'lab' }), others: fault(404), ...refused }
    },
    {
      name: 'create server',
      method: 'create',
      params: (role) => ['server', `name=srv-${role}`, 'url=http://srv.example.org'],
      expect: { admin: anyResult, others: fault(403), anonymous: fault(401), ...refused }
    }
  ]
}

function expectationFor (scenario: Scenario, role: Role): Expect {
  return scenario.expect[role] ?? scenario.expect.others
}

function credentials (role: Role): Pick<PythonCall, 'user' | 'password'> {
  return role === 'anonymous' ? {} : { user: role, password }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: each role gets what the domain grants, through Python's xmlrpc.client`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const scenarios = scenariosFor(s, (await domain.services.get(systemActor, 'assembly::genomics::pasteur')).id)
    const project = `project${s.projectId}`
    const url = await listen(app)

    const calls: PythonCall[] = []
    for (const scenario of scenarios) {
      for (const role of roles) {
        calls.push({ name: `${scenario.name} as ${role}`, method: scenario.method, params: scenario.params(role), ...credentials(role) })
      }
    }
    // 99999 names no project: the fault is the same as for one out of sight.
    calls.push({ name: 'display project99999 as outsider', method: 'display', params: ['project99999'], ...credentials('outsider') })
    // Retiring hides a project from everyone until its owner restores it.
    calls.push(
      { name: 'manager retires project', method: 'action', params: ['retire', project], ...credentials('manager') },
      { name: 'owner retires project', method: 'action', params: ['retire', project], ...credentials('owner') },
      { name: 'watcher lists after retire', method: 'list', params: ['project'], ...credentials('watcher') },
      { name: 'owner restores project', method: 'action', params: ['restore', project], ...credentials('owner') },
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
    t.same(results['display project as suspended'], { fault: [403, `account suspended is suspended: ${suspensionReason}`] },
      'a suspended user is told its status message')
    t.same(results['schema as pending'], { fault: [403, 'account pending is pending'] })
    t.same(results['display project as outsider'], { fault: [404, `no such project ${s.projectId}`] })
    t.same(results['display project99999 as outsider'], { fault: [404, 'no such project 99999'] })
    t.match(results['manager retires project'], { fault: [403, /owner role/] })
    t.same(results['owner retires project'], { result: null })
    t.same(results['watcher lists after retire'], { result: ['p-watcher'] })
    t.same(results['owner restores project'], { result: null })
    t.same(results['watcher lists after restore'], { result: ['genomics', 'p-watcher'] })
  })

  t.test(`${kind}: wrong credentials and the login throttle, through Python's xmlrpc.client`, async (t) => {
    const { app } = await seededApp(t, kind)
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
