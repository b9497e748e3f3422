/**
 * Each method's happy path in RhodeCode's envelope: the msg texts, the result
 * shapes (checked against the schemas published in the OpenRPC document) and the
 * effect on the domain.
 */
import t, { type Test } from 'tap'
import { Value } from 'typebox/value'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { methodList, methods } from '../../../src/rpc/jsonrpc/methods/index.ts'
import { rhodecode, roles, world, type Role, type World } from './fixture.ts'

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const w: World = await world(t, kind)
    const called = new Set<string>()

    /** Calls a method that must succeed, and checks the result against the method's result schema. */
    async function ok (t: Test, role: Role, method: string, args: Record<string, unknown> = {}): Promise<any> {
      const response = await rhodecode(w, w.keys[role], method, args)
      t.equal(response.error, null, `${method} by ${role} succeeds`)
      t.ok(Value.Check(methods.get(method)!.result, response.result), `${method} answers its documented result shape`)
      called.add(method)
      return response.result
    }

    t.test('users', async (t) => {
      const users = await ok(t, 'admin', 'get_users')
      t.same(users.map((u: any) => u.username).sort(), [...roles].sort())
      t.notOk(JSON.stringify(users).includes(w.keys.admin), 'no API key secret in a user object')

      const created = await ok(t, 'admin', 'create_user', {
        username: 'newbie', email: 'newbie@example.org', password: 'new-password', firstname: 'New', lastname: 'Bie', active: false
      })
      t.equal(created.msg, 'created new user `newbie`')
      t.match(created.user, { id: created.id, user_id: created.id, username: 'newbie', firstname: 'New', lastname: 'Bie', active: false, admin: false, status: 'suspended', emails: ['newbie@example.org'] })
      t.equal((await w.domain.users.get(systemActor, 'newbie')).status, 'suspended')

      const byName = await ok(t, 'admin', 'get_user', { userid: 'newbie' })
      const byId = await ok(t, 'admin', 'get_user', { userid: created.id })
      t.same(byId, byName, 'get_user takes a username or an id')
      t.same(byName.permissions, { global: ['hg.create.repository'], repositories: {}, repositories_groups: {} })
      t.equal(await ok(t, 'admin', 'get_user', { userid: 'nobody' }), null, 'null for a user that does not exist')

      const updated = await ok(t, 'admin', 'update_user', { userid: created.id, active: true, admin: true, lastname: 'B', ldap_dn: 'uid=newbie,dc=example,dc=org' })
      t.equal(updated.msg, `updated user ID:${created.id} newbie`)
      t.match(updated.user, { active: true, admin: true, lastname: 'B', ldap_dn: 'uid=newbie,dc=example,dc=org', status: 'active' })

      const deleted = await ok(t, 'admin', 'delete_user', { userid: 'newbie' })
      t.same(deleted, { id: created.id, msg: `deleted user ID:${created.id} newbie`, user: null })
      t.equal(await ok(t, 'admin', 'get_user', { userid: 'newbie' }), null)

      const owner = await ok(t, 'owner', 'get_user', { userid: 'owner' })
      t.same(owner.permissions.repositories, { proj: 'repository.admin' }, 'the owner administers its project')
      const contributor = await ok(t, 'contributor', 'get_user', { userid: 'contributor' })
      t.same(contributor.permissions.repositories, { proj: 'repository.write' })
      t.same(contributor.groups, ['team'])
      const watcher = await ok(t, 'watcher', 'update_user', { userid: 'watcher', firstname: 'Wanda', password: 'a-new-password' })
      t.equal(watcher.user.firstname, 'Wanda', 'users change their own names')
    })

    t.test("a user's permissions follow the domain's rule for group grants", async (t) => {
      await w.domain.projects.create(systemActor, { name: 'grouped', owner: 'owner' })
      await w.domain.projects.setGroupGrant(systemActor, 'grouped', 'team', 'watcher')
      await w.domain.groups.create(systemActor, { name: 'dormant', members: ['contributor'], active: false })
      await w.domain.projects.setGroupGrant(systemActor, 'proj', 'dormant', 'manager')
      t.teardown(async () => {
        await w.domain.projects.delete(systemActor, 'grouped')
        await w.domain.groups.delete(systemActor, 'dormant')
      })
      const expected = { proj: 'repository.write', grouped: 'repository.read' }
      const contributor = await ok(t, 'contributor', 'get_user', { userid: 'contributor' })
      t.same(contributor.permissions.repositories, expected,
        'a project reached through an active group is listed; an inactive group grants nothing')
      t.same((await ok(t, 'admin', 'get_user', { userid: 'contributor' })).permissions.repositories, expected,
        'an administrator reads the same permissions')
      const grant = await rhodecode(w, w.keys.contributor, 'grant_user_permission', { repoid: 'proj', userid: 'stranger', perm: 'repository.read' })
      t.match(grant.error, /manager/, 'and the domain refuses the manager role the inactive group would grant')
    })

    t.test('users groups', async (t) => {
      const groups = await ok(t, 'admin', 'get_users_groups')
      t.same(groups.map((g: any) => g.group_name), ['team'])
      const team = await ok(t, 'contributor', 'get_users_group', { usersgroupid: 'team' })
      t.match(team, { group_name: 'team', active: true, members: [{ username: 'contributor', user_id: w.ids.contributor }] })
      t.same(await ok(t, 'admin', 'get_users_group', { usersgroupid: team.id }), team, 'by id or by name')
      t.equal(await ok(t, 'admin', 'get_users_group', { usersgroupid: 'nothing' }), null)

      const crew = await ok(t, 'admin', 'create_users_group', { group_name: 'crew', active: false })
      t.equal(crew.msg, 'created new users group `crew`')
      t.match(crew.users_group, { id: crew.id, users_group_id: crew.id, group_name: 'crew', active: false, members: [] })

      t.same(await ok(t, 'admin', 'add_user_to_users_group', { usersgroupid: 'crew', userid: 'watcher' }),
        { id: w.ids.watcher, success: true, msg: 'added member `watcher` to users group `crew`' })
      t.same(await ok(t, 'admin', 'add_user_to_users_group', { usersgroupid: crew.id, userid: w.ids.watcher }),
        { id: w.ids.watcher, success: false, msg: 'User is already in that group' })
      t.same(await ok(t, 'admin', 'add_user_users_group', { usersgroupid: 'crew', userid: 'watcher' }),
        { id: w.ids.watcher, success: false, msg: 'User is already in that group' }, 'the name the documents send')
      t.same(await ok(t, 'admin', 'remove_user_from_users_group', { usersgroupid: 'crew', userid: 'watcher' }),
        { success: true, msg: 'removed member `watcher` from users group `crew`' })
      t.same(await ok(t, 'admin', 'remove_user_from_users_group', { usersgroupid: 'crew', userid: 'watcher' }),
        { success: false, msg: 'User wasn\'t in group' })
    })

    t.test('repositories', async (t) => {
      const repos = await ok(t, 'admin', 'get_repos')
      t.same(repos.map((r: any) => r.repo_name), ['proj'])
      const proj = await ok(t, 'watcher', 'get_repo', { repoid: 'proj' })
      t.match(proj, { repo_name: 'proj', repo_id: proj.id, repo_type: 'mobyle', description: 'the project', owner: 'owner', private: true })
      t.same(proj.members.map((m: any) => [m.type, m.username, m.permission]), [
        ['user', 'owner', 'repository.admin'],
        ['user', 'manager', 'repository.admin'],
        ['user', 'contributor', 'repository.write'],
        ['user', 'watcher', 'repository.read']
      ])
      t.same(await ok(t, 'watcher', 'get_repo', { repoid: proj.id }), proj, 'by id or by name')
      t.equal(await ok(t, 'admin', 'get_repo', { repoid: 'nothing' }), null)

      await w.domain.projects.addData(systemActor, 'proj', { name: 'reads.fasta' })
      const nodes = await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'proj', revision: 'tip', root_path: '/' })
      const data = (await w.domain.projects.get(systemActor, 'proj')).data
      t.same(nodes, [
        { name: 'services', type: 'dir' },
        { name: 'services/tool::proj::srv', type: 'file' },
        { name: 'jobs', type: 'dir' },
        { name: 'data', type: 'dir' },
        { name: `data/${data[0]!.id}`, type: 'file' }
      ])
      t.same(await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'proj', revision: 'tip', root_path: 'services' }),
        [{ name: 'services/tool::proj::srv', type: 'file' }])
      t.same((await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'proj', revision: 'tip', root_path: '', ret_type: 'dirs' })).map((n: any) => n.name),
        ['services', 'jobs', 'data'])
      const missing = await rhodecode(w, w.keys.contributor, 'get_repo_nodes', { repoid: 'proj', revision: 'tip', root_path: 'nope' })
      t.equal(missing.error, 'path `nope` does not exist')

      const mine = await ok(t, 'stranger', 'create_repo', { repo_name: 'mine', description: 'my own', repo_type: 'hg', private: true, landing_rev: 'tip' })
      t.equal(mine.msg, 'Created new repository `mine`')
      t.match(mine.repo, { id: mine.id, repo_name: 'mine', owner: 'stranger', description: 'my own' })
      const forWatcher = await ok(t, 'admin', 'create_repo', { repo_name: 'theirs', owner: w.ids.watcher })
      t.equal(forWatcher.repo.owner, 'watcher', 'administrators create projects for others, by id or username')

      t.same(await ok(t, 'stranger', 'grant_user_permission', { repoid: 'mine', userid: 'watcher', perm: 'repository.write' }),
        { msg: 'Granted perm: `repository.write` for user: `watcher` in repo: `mine`', success: true })
      t.match((await ok(t, 'stranger', 'get_repo', { repoid: 'mine' })).members, [{ username: 'stranger' }, { username: 'watcher', permission: 'repository.write' }])
      await ok(t, 'stranger', 'grant_user_permission', { repoid: 'mine', userid: 'watcher', perm: 'repository.none' })
      t.equal((await ok(t, 'stranger', 'get_repo', { repoid: 'mine' })).members.length, 1, 'repository.none removes the role')
      await ok(t, 'stranger', 'grant_user_permission', { repoid: 'mine', userid: w.ids.watcher, perm: 'repository.read' })
      t.same(await ok(t, 'stranger', 'revoke_user_permission', { repoid: 'mine', userid: 'watcher' }),
        { msg: 'Revoked perm for user: `watcher` in repo: `mine`', success: true })
      t.same(await ok(t, 'stranger', 'revoke_user_permission', { repoid: 'mine', userid: 'watcher' }),
        { msg: 'User `watcher` had no perm in repo: `mine`', success: false }, 'revoking what is not there changes nothing and says so')

      t.same(await ok(t, 'admin', 'grant_users_group_permission', { repoid: 'mine', usersgroupid: 'team', perm: 'repository.read' }),
        { msg: 'Granted perm: `repository.read` for group: `team` in repo: `mine`', success: true })
      t.match((await ok(t, 'contributor', 'get_repo', { repoid: 'mine' })).members[1], { type: 'users_group', group_name: 'team', permission: 'repository.read' },
        'a group grant lets its members see the project')
      t.same((await ok(t, 'contributor', 'get_user', { userid: 'contributor' })).permissions.repositories, { proj: 'repository.write', mine: 'repository.read' },
        "and the grant is among the member's permissions")
      t.same(await ok(t, 'stranger', 'revoke_users_group_permission', { repoid: 'mine', usersgroupid: 'team' }),
        { msg: 'Revoked perm for group: `team` in repo: `mine`', success: true })
      t.same(await ok(t, 'stranger', 'revoke_users_group_permission', { repoid: 'mine', usersgroupid: 'team' }),
        { msg: 'Group `team` had no perm in repo: `mine`', success: false })

      t.equal(await ok(t, 'stranger', 'add_user_to_repo', { repo_name: 'mine', user_name: 'watcher', perm: 'repository.read' }), null)
      t.match((await ok(t, 'stranger', 'get_repo', { repoid: 'mine' })).members, [{ username: 'stranger' }, { username: 'watcher', permission: 'repository.read' }])
      t.equal(await ok(t, 'stranger', 'add_user_to_repo', { repo_name: 'mine', user_name: 'watcher', perm: null }), null)
      t.equal(await ok(t, 'admin', 'add_users_group_to_repo', { repo_name: 'mine', group_name: 'team', perm: 'repository.write' }), null)
      t.same((await ok(t, 'stranger', 'get_repo', { repoid: 'mine' })).members.map((m: any) => [m.type, m.permission]),
        [['user', 'repository.admin'], ['users_group', 'repository.write']], 'perm null removed the user; the group was granted')
      t.equal(await ok(t, 'stranger', 'add_users_group_to_repo', { repo_name: 'mine', group_name: 'team', perm: null }), null)
      t.equal((await ok(t, 'stranger', 'get_repo', { repoid: 'mine' })).members.length, 1)

      t.same(await ok(t, 'stranger', 'delete_repo', { repoid: 'mine' }), { msg: 'Deleted repository `mine`', success: true })
      t.equal(await ok(t, 'admin', 'get_repo', { repoid: 'mine' }), null)

      const pull = await rhodecode(w, w.keys.admin, 'pull', { repoid: 'proj' })
      t.same(pull.result, null)
      t.match(pull.error, /^pull is not available/)
    })

    t.test('servers and services', async (t) => {
      t.same(await ok(t, 'stranger', 'get_servers'), [{ name: 'srv', url: 'https://srv.example.org/', services: ['blast'], active: true, description: '' }])
      t.same((await ok(t, 'admin', 'get_server', { serverid: 'srv' })).services, ['blast', 'tool'], 'services the caller can see')
      t.equal(await ok(t, 'admin', 'get_server', { serverid: 'nothing' }), null)

      const created = await ok(t, 'admin', 'create_server', { name: 'other', url: 'https://other.example.org/', description: 'another' })
      t.same(created, { msg: 'created new server `other`', server: { name: 'other', url: 'https://other.example.org/', services: [], active: true, description: 'another' } })
      const updated = await ok(t, 'admin', 'update_server', { serverid: 'other', active: false })
      t.same(updated, { msg: 'updated server `other`', server: { ...created.server, active: false } })
      t.same(await ok(t, 'admin', 'delete_server', { serverid: 'other' }), { msg: 'deleted server `other`', success: true })

      t.same(await ok(t, 'stranger', 'get_services'), [
        { name: 'blast', server: 'srv', type: 'program', exported: false, disabled: false, authorized: true, description: '' }
      ])
      t.same((await ok(t, 'watcher', 'get_services')).map((s: any) => [s.name, s.project]), [['blast', undefined], ['tool', 'proj']])
      const tool = await ok(t, 'contributor', 'get_service', { serviceid: 'tool::proj::srv' })
      t.same(tool, { name: 'tool', server: 'srv', project: 'proj', type: 'workflow', exported: false, disabled: false, authorized: true, description: '' })
      t.notOk('project' in await ok(t, 'stranger', 'get_service', { serviceid: 'blast::srv' }), 'no project for a server-level service')
      t.equal(await ok(t, 'stranger', 'get_service', { serviceid: 'tool::proj::srv' }), null, 'a service the caller cannot see is none')

      const align = await ok(t, 'manager', 'create_service', { name: 'align', server: 'srv', project: 'proj', type: 'program', exported: true })
      t.same(align, { msg: 'created new service `align::proj::srv`', service: { name: 'align', server: 'srv', project: 'proj', type: 'program', exported: true, disabled: false, authorized: true, description: '' } })
      const disabled = await ok(t, 'owner', 'update_service', { serviceid: 'align::proj::srv', disabled: true, description: 'maintenance' })
      t.match(disabled, { msg: 'updated service `align::proj::srv`', service: { disabled: true, authorized: false, description: 'maintenance' } })
      t.same(await ok(t, 'manager', 'delete_service', { serviceid: 'align::proj::srv' }), { msg: 'deleted service `align::proj::srv`', success: true })
    })

    t.test('every method but pull has a happy path above', async (t) => {
      t.same([...called].sort(), methodList.map((m) => m.name).filter((name) => name !== 'pull').sort())
    })
  })
}
