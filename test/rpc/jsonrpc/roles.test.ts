/**
 * Who may call what, through RhodeCode's envelope: each method against each
 * role (administrator, project owner, manager, contributor, watcher, unrelated
 * user, suspended and pending accounts, and a caller without a valid key). The
 * rules are the domain's; this proves the face reports them faithfully.
 */
import t from 'tap'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { methodList } from '../../../src/rpc/jsonrpc/methods/index.ts'
import { rhodecode, roles, suspensionReason, world, type Role, type World } from './fixture.ts'

interface Case {
  method: string
  args: (role: Role) => Record<string, unknown>
  allowed: readonly Role[]
  /**
   * Roles answered otherwise than "Permission denied" because they may not see the
   * item: the answer for one that does not exist (null: `result` and `error` both null).
   */
  otherwise?: Partial<Record<Role, RegExp | null>>
  /** Prepares what the role's call works on. */
  setup?: (w: World, role: Role) => Promise<void>
}

const active: readonly Role[] = ['admin', 'owner', 'manager', 'contributor', 'watcher', 'groupie', 'outsider']
const projectStaff: readonly Role[] = ['admin', 'owner', 'manager']
/** The members of `genomics`: `groupie` through the group `lab`. */
const projectMembers: readonly Role[] = [...projectStaff, 'contributor', 'watcher', 'groupie']
/** Who may submit and cancel jobs in `genomics`: its contributors and above. */
const contributors: readonly Role[] = [...projectStaff, 'contributor', 'groupie']
/** The job each role's cancel_job call cancels: a fresh one each (see its setup). */
const jobOf: Partial<Record<Role, number>> = {}
const same = (args: Record<string, unknown>) => () => args
/** The answer every role in `roles` gets: that of an item that does not exist. */
const absentFor = (roles: readonly Role[], answer: RegExp | null): Partial<Record<Role, RegExp | null>> =>
  Object.fromEntries(roles.map((role) => [role, answer]))

/** A project like `genomics`: owned by owner, with manager, contributor and watcher in their roles. */
async function seedProject (w: World, name: string): Promise<void> {
  await w.domain.projects.create(systemActor, { name, owner: 'owner' })
  for (const role of ['manager', 'contributor', 'watcher'] as const) await w.domain.projects.setMember(systemActor, name, role, role)
}

const cases: Case[] = [
  { method: 'get_users', args: same({}), allowed: ['admin'] },
  { method: 'get_users_groups', args: same({}), allowed: ['admin'] },
  { method: 'get_repos', args: same({}), allowed: ['admin'] },
  {
    method: 'get_user', args: same({ userid: 'owner' }), allowed: ['admin', 'owner'],
    otherwise: absentFor(['manager', 'contributor', 'watcher', 'groupie', 'outsider'], null)
  },
  {
    method: 'get_users_group', args: same({ usersgroupid: 'lab' }), allowed: ['admin', 'groupie'],
    otherwise: absentFor(['owner', 'manager', 'contributor', 'watcher', 'outsider'], null)
  },
  { method: 'get_repo', args: same({ repoid: 'genomics' }), allowed: projectMembers, otherwise: absentFor(['outsider'], null) },
  {
    method: 'get_repo_nodes', args: same({ repoid: 'genomics', revision: 'tip', root_path: '' }), allowed: projectMembers,
    otherwise: absentFor(['outsider'], /^repository `genomics` does not exist$/)
  },
  // The world's data item of genomics is its only one: id 1.
  { method: 'get_data', args: same({ repoid: 'genomics', dataid: 1 }), allowed: projectMembers, otherwise: absentFor(['outsider'], null) },
  {
    method: 'get_datas', args: same({ repoid: 'genomics' }), allowed: projectMembers,
    otherwise: absentFor(['outsider'], /^repository `genomics` does not exist$/)
  },
  // Likewise the world's job: id 1.
  { method: 'get_job', args: same({ repoid: 'genomics', jobid: 1 }), allowed: projectMembers, otherwise: absentFor(['outsider'], null) },
  {
    method: 'get_jobs', args: same({ repoid: 'genomics' }), allowed: projectMembers,
    otherwise: absentFor(['outsider'], /^repository `genomics` does not exist$/)
  },
  {
    method: 'create_job', args: (role) => ({ repoid: 'genomics', service: 'blast::pasteur', name: `by ${role}` }), allowed: contributors,
    otherwise: absentFor(['outsider'], /^repository `genomics` does not exist$/)
  },
  {
    method: 'cancel_job',
    args: (role) => ({ repoid: 'genomics', jobid: jobOf[role] }),
    allowed: contributors,
    otherwise: absentFor(['outsider'], /^repository `genomics` does not exist$/),
    setup: async (w, role) => { jobOf[role] = (await w.domain.projects.addJob(systemActor, 'genomics', { service: 'blast::pasteur' })).id }
  },
  {
    method: 'create_user',
    args: (role) => ({ username: `made-by-${role}`, email: `made-by-${role}@example.org`, password: 'a-password' }),
    allowed: ['admin']
  },
  {
    method: 'update_user', args: same({ userid: 'watcher', lastname: 'Changed' }), allowed: ['admin', 'watcher'],
    otherwise: absentFor(['owner', 'manager', 'contributor', 'groupie', 'outsider'], /^user `watcher` does not exist$/)
  },
  // Users change their names and password, not their status.
  {
    method: 'update_user', args: same({ userid: 'watcher', active: true }), allowed: ['admin'],
    otherwise: absentFor(['owner', 'manager', 'contributor', 'groupie', 'outsider'], /^user `watcher` does not exist$/)
  },
  {
    method: 'delete_user',
    args: (role) => ({ userid: `victim-${role}` }),
    allowed: ['admin'],
    setup: async (w, role) => { await w.domain.users.create(systemActor, { username: `victim-${role}` }) }
  },
  { method: 'create_users_group', args: (role) => ({ group_name: `group-${role}` }), allowed: ['admin'] },
  { method: 'add_user_to_users_group', args: same({ usersgroupid: 'lab', userid: 'watcher' }), allowed: ['admin'] },
  { method: 'remove_user_from_users_group', args: same({ usersgroupid: 'lab', userid: 'watcher' }), allowed: ['admin'] },
  { method: 'create_repo', args: (role) => ({ repo_name: `repo-${role}` }), allowed: active },
  // Naming another owner is for administrators; naming oneself is allowed.
  { method: 'create_repo', args: (role) => ({ repo_name: `for-watcher-${role}`, owner: 'watcher' }), allowed: ['admin', 'watcher'] },
  {
    method: 'delete_repo',
    args: (role) => ({ repoid: `doomed-${role}` }),
    allowed: ['admin', 'owner'],
    otherwise: { groupie: /^repository `doomed-groupie` does not exist$/, outsider: /^repository `doomed-outsider` does not exist$/ },
    setup: async (w, role) => { await seedProject(w, `doomed-${role}`) }
  },
  // The outsider holds no role in `grants` until the grant below, which makes it a watcher until the revocation;
  // likewise groupie, through the group `lab`, until that group's grant is revoked.
  { method: 'grant_user_permission', args: same({ repoid: 'grants', userid: 'outsider', perm: 'repository.read' }), allowed: projectStaff, otherwise: absentFor(['groupie', 'outsider'], /^repository `grants` does not exist$/) },
  { method: 'revoke_user_permission', args: same({ repoid: 'grants', userid: 'outsider' }), allowed: projectStaff, otherwise: absentFor(['groupie'], /^repository `grants` does not exist$/) },
  { method: 'grant_users_group_permission', args: same({ repoid: 'grants', usersgroupid: 'lab', perm: 'repository.read' }), allowed: projectStaff, otherwise: absentFor(['groupie', 'outsider'], /^repository `grants` does not exist$/) },
  { method: 'revoke_users_group_permission', args: same({ repoid: 'grants', usersgroupid: 'lab' }), allowed: projectStaff, otherwise: absentFor(['outsider'], /^repository `grants` does not exist$/) },
  { method: 'create_server', args: (role) => ({ name: `server-${role}`, url: 'https://s.example.org/' }), allowed: ['admin'] },
  { method: 'update_server', args: same({ serverid: 'pasteur', description: 'changed' }), allowed: ['admin'] },
  {
    method: 'delete_server',
    args: (role) => ({ serverid: `gone-${role}` }),
    allowed: ['admin'],
    setup: async (w, role) => { await w.domain.servers.create(systemActor, { name: `gone-${role}`, url: 'https://gone.example.org/' }) }
  },
  {
    method: 'create_service',
    args: (role) => ({ name: `svc-${role}`, server: 'pasteur', project: 'genomics', type: 'program' }),
    allowed: projectStaff,
    otherwise: { outsider: /^Invalid input: project: no such project genomics/ }
  },
  { method: 'create_service', args: (role) => ({ name: `top-${role}`, server: 'pasteur', type: 'program' }), allowed: ['admin'] },
  {
    method: 'update_service',
    args: same({ serviceid: 'assembly::genomics::pasteur', description: 'changed' }),
    allowed: projectStaff,
    otherwise: { outsider: /^service `assembly::genomics::pasteur` does not exist$/ }
  },
  {
    method: 'delete_service',
    args: (role) => ({ serviceid: `del-${role}::genomics::pasteur` }),
    allowed: projectStaff,
    otherwise: { outsider: /^service `del-outsider::genomics::pasteur` does not exist$/ },
    setup: async (w, role) => { await w.domain.services.create(systemActor, { name: `del-${role}`, server: 'pasteur', project: 'genomics', type: 'program' }) }
  }
]

const refusedStatus: Partial<Record<Role, string>> = {
  suspended: `Permission denied: account suspended is suspended: ${suspensionReason}`,
  pending: 'Permission denied: account pending is pending'
}

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    // Many calls below present a wrong key on purpose: keep the login throttle out of the way.
    const w = await world(t, kind, { LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_ADDRESS_FAILURES: '100000' })
    await seedProject(w, 'grants')

    for (const testCase of cases) {
      t.test(`${testCase.method} ${JSON.stringify(testCase.args('admin'))}`, async (t) => {
        // Refusals first, so that an allowed call cannot change what they meet.
        const ordered = [...roles].sort((a, b) => Number(testCase.allowed.includes(a)) - Number(testCase.allowed.includes(b)))
        for (const role of ordered) {
          await testCase.setup?.(w, role)
          const response = await rhodecode(w, w.keys[role], testCase.method, testCase.args(role))
          if (testCase.allowed.includes(role)) {
            t.equal(response.error, null, `${role} may`)
            continue
          }
          t.equal(response.result, null, `${role} gets no result`)
          const hidden = testCase.otherwise?.[role]
          const expected = refusedStatus[role] ?? (hidden === undefined ? /^Permission denied: / : hidden)
          if (expected === null) t.equal(response.error, null, `${role} is answered as if it did not exist`)
          else if (typeof expected === 'string') t.equal(response.error, expected, `${role} is refused with its status`)
          else t.match(response.error, expected, `${role} is refused`)
        }
      })
    }

    t.test('refused calls leave nothing behind', async (t) => {
      const users = await w.domain.users.list(systemActor, { username: { contains: 'made-by-' } })
      t.same(users.items.map((u) => u.username), ['made-by-admin'])
      const groups = await w.domain.groups.list(systemActor, { name: { contains: 'group-' } })
      t.same(groups.items.map((g) => g.name), ['group-admin'])
      const servers = await w.domain.servers.list(systemActor, { name: { contains: 'server-' } })
      t.same(servers.items.map((s) => s.name), ['server-admin'])
    })

    t.test('a caller without a valid key gets Invalid API KEY from every method', async (t) => {
      for (const method of methodList) {
        for (const key of ['not-a-key', '']) {
          const response = await rhodecode(w, key, method.name, {})
          t.same(response, { id: 1, result: null, error: 'Invalid API KEY' }, `${method.name} with key ${JSON.stringify(key)}`)
        }
      }
    })
  })
}
