/**
 * RhodeCode's older dialects: each example request of RhodeCode 1.2's API
 * document (../shared/spec/rhodecode-api-1.2.txt: no `id`, its own method and
 * argument names) and of the newer document (the 1.4 changeset: its current text,
 * and the 1.3 text it replaces), sent as the document writes it but for the key
 * and the names of things in the fixture. Each answers `error: null` with the
 * shape that document shows; bad input in the old names gets RhodeCode's errors.
 */
import t, { type Test } from 'tap'
import { Value } from 'typebox/value'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { methods } from '../../../src/rpc/jsonrpc/methods/index.ts'
import { world, type World } from './fixture.ts'

/** The keys RhodeCode 1.2's document shows for a user (get_users), a users group and a repository. */
const user12 = ['id', 'username', 'firstname', 'lastname', 'email', 'active', 'admin', 'ldap']
const group12 = ['id', 'name', 'active', 'members']
const repo12 = ['id', 'name', 'type', 'description']
/** The keys the newer document shows. */
const userNew = ['id', 'user_id', 'username', 'firstname', 'lastname', 'email', 'emails', 'active', 'admin', 'ldap_dn', 'last_login']
const groupNew = ['users_group_id', 'group_name', 'active', 'members']
const repoNew = ['id', 'repo_id', 'repo_name', 'type', 'repo_type', 'clone_uri', 'private', 'created_on', 'description', 'landing_rev', 'owner', 'fork_of']

function hasKeys (t: Test, object: unknown, keys: string[], what: string): void {
  t.ok(typeof object === 'object' && object !== null, `${what} is an object`)
  const missing = keys.filter((key) => !Object.hasOwn(object as object, key))
  t.same(missing, [], `${what} has every key the document shows`)
}

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const w: World = await world(t, kind)
    await w.domain.projects.setGroupGrant(systemActor, 'genomics', 'lab', 'watcher')

    /** Posts a request as the document writes it (the envelope as given, text/plain). */
    async function send (request: Record<string, unknown>): Promise<{ id?: unknown, result: any, error: string | null }> {
      const response = await w.app.inject({
        method: 'POST', url: '/_admin/api', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(request)
      })
      t.equal(response.statusCode, 200)
      const body = response.json()
      t.not(body.error, 'Internal server error', `${String(request.method)} fails, if at all, for a reason`)
      return body
    }

    /** Sends a request that must succeed: error null, and the result the method's published schema describes. */
    async function replay (t: Test, request: Record<string, unknown>): Promise<any> {
      const answer = await send(request)
      t.equal(answer.error, null, `${String(request.method)} ${JSON.stringify(request.args)} succeeds`)
      t.ok(Value.Check(methods.get(String(request.method))!.result, answer.result), 'the result fits the published schema')
      if ('id' in request) t.equal(answer.id, request.id, 'the id comes back')
      else t.equal(answer.id, null, 'a request without id is answered with id null')
      return answer.result
    }

    /** Sends a request that must fail with exactly this error. */
    async function refused (t: Test, request: Record<string, unknown>, error: string | RegExp): Promise<void> {
      const answer = await send(request)
      t.equal(answer.result, null)
      if (typeof error === 'string') t.equal(answer.error, error)
      else t.match(answer.error, error)
    }

    t.test('RhodeCode 1.2', async (t) => {
      const key = w.keys.admin

      t.test('pull', async (t) => {
        // The document's curl example, word for word but the key.
        await refused(t, { api_key: key, method: 'pull', args: { repo: 'CPython' } }, 'server `CPython` does not exist')
      })

      t.test('get_users', async (t) => {
        const users = await replay(t, { api_key: key, method: 'get_users', args: {} })
        t.ok(users.length > 0)
        for (const user of users) hasKeys(t, user, user12, `user ${user.username}`)
        t.equal(users.find((u: any) => u.username === 'admin').admin, true)
      })

      t.test('create_user', async (t) => {
        const created = await replay(t, {
          api_key: key,
          method: 'create_user',
          args: {
            username: 'user12', password: 'password-of-user12', firstname: 'One', lastname: 'Two', email: 'user12@example.org',
            active: true, admin: false, ldap_dn: null
          }
        })
        hasKeys(t, created, ['msg'], 'create_user result')
        t.match(created.msg, /^created new user `?user12`?$/)
        t.equal((await w.domain.users.get(systemActor, 'user12')).firstname, 'One')
      })

      t.test('get_users_groups', async (t) => {
        const groups = await replay(t, { api_key: key, method: 'get_users_groups', args: {} })
        t.same(groups.map((g: any) => g.name), ['lab'])
        for (const group of groups) {
          hasKeys(t, group, group12, `group ${group.name}`)
          for (const member of group.members) hasKeys(t, member, ['id', 'username'], 'member')
        }
      })

      t.test('get_users_group', async (t) => {
        const team = await replay(t, { api_key: key, method: 'get_users_group', args: { group_name: 'lab' } })
        hasKeys(t, team, group12, 'group')
        t.match(team, { name: 'lab', active: true, members: [{ id: w.ids.groupie, username: 'groupie' }] })
        t.equal(await replay(t, { api_key: key, method: 'get_users_group', args: { group_name: 'nothing' } }), null, 'None if group not exist')
      })

      t.test('create_users_group', async (t) => {
        const created = await replay(t, { api_key: key, method: 'create_users_group', args: { name: 'crew12', active: true } })
        hasKeys(t, created, ['id', 'msg'], 'create_users_group result')
        t.equal(created.msg, 'created new users group crew12', '1.2\'s message')
        t.equal((await w.domain.groups.get(systemActor, 'crew12')).id, created.id)
      })

      t.test('add_user_users_group (under the heading add_user_to_users_group)', async (t) => {
        const added = await replay(t, { api_key: key, method: 'add_user_users_group', args: { group_name: 'crew12', user_name: 'watcher' } })
        hasKeys(t, added, ['id', 'msg'], 'add_user_users_group result')
        t.same(added, { id: w.ids.watcher, success: true, msg: 'created new users group member' })
        t.same((await w.domain.groups.get(systemActor, 'crew12')).members.map((m) => m.username), ['watcher'])
        const again = await replay(t, { api_key: key, method: 'add_user_to_users_group', args: { group_name: 'crew12', user_name: 'watcher' } })
        t.same(again, { id: w.ids.watcher, success: false, msg: 'User is already in that group' }, 'the heading\'s name too')
      })

      t.test('get_repos', async (t) => {
        const repos = await replay(t, { api_key: key, method: 'get_repos', args: {} })
        t.same(repos.map((r: any) => r.name), ['genomics', 'private'])
        hasKeys(t, repos[0], repo12, 'repository')
        t.match(repos[0], { name: 'genomics', type: 'mobyle', description: 'assemblies' })
      })

      t.test('get_repo', async (t) => {
        const repo = await replay(t, { api_key: key, method: 'get_repo', args: { name: 'genomics' } })
        hasKeys(t, repo, [...repo12, 'members'], 'repository')
        const users = repo.members.filter((m: any) => m.type === 'user')
        const groups = repo.members.filter((m: any) => m.type === 'users_group')
        for (const member of users) hasKeys(t, member, ['id', 'username', 'permission'], `member ${member.username}`)
        t.match(groups, [{ id: (await w.domain.groups.get(systemActor, 'lab')).id, name: 'lab', permission: 'repository.read' }])
        t.equal(await replay(t, { api_key: key, method: 'get_repo', args: { name: 'nothing' } }), null, 'None if repository not exist')
      })

      t.test('create_repo', async (t) => {
        const created = await replay(t, {
          api_key: key,
          method: 'create_repo',
          args: { name: 'repo12', owner_name: 'watcher', description: '', repo_type: 'hg', private: false }
        })
        t.equal(created, null, 'result: None')
        const project = await w.domain.projects.get(systemActor, 'repo12')
        t.equal(project.ownerUsername, 'watcher')
      })

      t.test('add_user_to_repo', async (t) => {
        t.equal(await replay(t, {
          api_key: key, method: 'add_user_to_repo', args: { repo_name: 'repo12', user_name: 'outsider', perm: 'repository.write' }
        }), null)
        t.same((await w.domain.projects.get(systemActor, 'repo12')).members.map((m) => [m.username, m.role]), [['outsider', 'contributor']])
        t.equal(await replay(t, { api_key: key, method: 'add_user_to_repo', args: { repo_name: 'repo12', user_name: 'outsider', perm: null } }), null)
        t.same((await w.domain.projects.get(systemActor, 'repo12')).members, [], 'perm None removes the user')
      })

      t.test('add_users_group_to_repo', async (t) => {
        t.equal(await replay(t, {
          api_key: key, method: 'add_users_group_to_repo', args: { repo_name: 'repo12', group_name: 'crew12', perm: 'repository.admin' }
        }), null)
        t.same((await w.domain.projects.get(systemActor, 'repo12')).groups.map((g) => [g.name, g.role]), [['crew12', 'manager']])
        t.equal(await replay(t, { api_key: key, method: 'add_users_group_to_repo', args: { repo_name: 'repo12', group_name: 'crew12', perm: null } }), null)
        t.same((await w.domain.projects.get(systemActor, 'repo12')).groups, [], 'perm None removes the group')
      })

      t.test('bad input in 1.2\'s names gets RhodeCode\'s errors', async (t) => {
        const call = (method: string, args: Record<string, unknown>) => ({ api_key: key, method, args })
        await refused(t, call('add_user_users_group', { user_name: 'watcher' }), 'Missing non optional `group_name` arg in JSON DATA')
        await refused(t, call('add_user_users_group', { group_name: 'crew12', user_name: 7.5 }), /^Invalid `user_name` arg \(.+\) in JSON DATA$/)
        await refused(t, call('add_user_users_group', { group_name: true, user_name: 'watcher' }), 'Invalid `group_name` arg (must be integer or string) in JSON DATA')
        await refused(t, call('add_user_users_group', { group_name: 'crew12', user_name: 'nobody' }), 'user `nobody` does not exist')
        await refused(t, call('get_users_group', { group_name: [] }), 'Invalid `group_name` arg (must be integer or string) in JSON DATA')
        await refused(t, call('create_users_group', { name: 12 }), /^Invalid `name` arg \(.+\) in JSON DATA$/)
        await refused(t, call('create_users_group', { name: 'lab' }), 'group with key "lab" exists')
        await refused(t, call('create_repo', { owner_name: 'watcher', description: 'x' }), 'Missing non optional `repo_name` arg in JSON DATA')
        await refused(t, call('create_repo', { name: 'x12', owner_name: 3.5 }), /^Invalid `owner_name` arg \(.+\) in JSON DATA$/)
        await refused(t, call('create_repo', { name: 'x12', private: 'no' }), /^Invalid `private` arg \(.+\) in JSON DATA$/)
        await refused(t, call('get_repo', { name: false }), 'Invalid `name` arg (must be integer or string) in JSON DATA')
        await refused(t, call('add_user_to_repo', { repo_name: 'repo12', user_name: 'outsider' }), 'Missing non optional `perm` arg in JSON DATA')
        await refused(t, call('add_user_to_repo', { repo_name: 'repo12', perm: null }), 'Missing non optional `user_name` arg in JSON DATA')
        await refused(t, call('add_user_to_repo', { repo_name: 'repo12', user_name: 'outsider', perm: 'repository.all' }), /^Invalid `perm` arg \(.+\) in JSON DATA$/)
        await refused(t, call('add_user_to_repo', { repo_name: 'repo12', user_name: 'outsider', perm: 4 }), /^Invalid `perm` arg \(.+\) in JSON DATA$/)
        await refused(t, call('add_users_group_to_repo', { repo_name: 'repo12', perm: 'repository.read' }), 'Missing non optional `group_name` arg in JSON DATA')
        await refused(t, call('add_users_group_to_repo', { repo_name: 'repo12', group_name: {}, perm: 'repository.read' }), 'Invalid `group_name` arg (must be integer or string) in JSON DATA')
        await refused(t, call('add_users_group_to_repo', { repo_name: 'ghost', group_name: 'lab', perm: 'repository.read' }), 'repository `ghost` does not exist')
        await refused(t, call('pull', {}), 'Missing non optional `serverid` arg in JSON DATA')
        await refused(t, call('get_users_group', { usersgroupid: 'lab', group_name: 'lab' }),
          'Invalid `group_name` arg (names the same argument as `usersgroupid`) in JSON DATA')
        await refused(t, call('get_users_group', { groupname: 'lab' }), 'Unknown arg `groupname` in JSON DATA; get_users_group takes `usersgroupid`')
        await refused(t, call('add_user_to_repo', { repoid: 'repo12', user_name: 'outsider', perm: null }),
          'Unknown arg `repoid` in JSON DATA; add_user_to_repo takes `repo_name`, `user_name`, `perm`')
      })

      t.test('who may: 1.2\'s names meet the same rules', async (t) => {
        await refused(t, { api_key: w.keys.watcher, method: 'add_user_users_group', args: { group_name: 'crew12', user_name: 'outsider' } },
          /^Permission denied: /)
        await refused(t, { api_key: w.keys.outsider, method: 'add_user_to_repo', args: { repo_name: 'genomics', user_name: 'outsider', perm: 'repository.admin' } },
          /^(Permission denied: |repository `genomics` does not exist)/)
        t.equal(await replay(t, { api_key: w.keys.owner, method: 'add_user_to_repo', args: { repo_name: 'genomics', user_name: 'outsider', perm: 'repository.read' } }), null,
          'the owner grants in its project')
        await replay(t, { api_key: w.keys.owner, method: 'add_user_to_repo', args: { repo_name: 'genomics', user_name: 'outsider', perm: null } })
      })
    })

    t.test('the newer document (the 1.4 changeset)', async (t) => {
      const key = w.keys.admin
      let id = 100
      const call = (method: string, args: Record<string, unknown>) => ({ id: ++id, api_key: key, method, args })

      t.test('pull', async (t) => {
        await refused(t, call('pull', { repoid: 'genomics' }), 'server `genomics` does not exist')
        await refused(t, call('pull', { repo_name: 'genomics' }), 'server `genomics` does not exist')
      })

      t.test('get_user, get_users', async (t) => {
        const user = await replay(t, call('get_user', { userid: 'watcher' }))
        hasKeys(t, user, [...userNew, 'permissions'], 'user')
        hasKeys(t, user.permissions, ['global', 'repositories', 'repositories_groups'], 'permissions')
        for (const each of await replay(t, call('get_users', {}))) hasKeys(t, each, userNew, `user ${each.username}`)
      })

      t.test('create_user, update_user, delete_user', async (t) => {
        const created = await replay(t, call('create_user', {
          username: 'user14', email: 'user14@example.org', password: 'password-of-user14', firstname: null, lastname: null,
          active: true, admin: false, ldap_dn: null
        }))
        hasKeys(t, created, ['id', 'msg', 'user'], 'create_user result')
        t.equal(created.msg, 'created new user `user14`')
        hasKeys(t, created.user, userNew, 'user')
        const updated = await replay(t, call('update_user', {
          userid: 'user14', username: 'user14', email: 'user14@example.net', password: 'another-password', firstname: 'F', lastname: 'L',
          active: true, admin: false, ldap_dn: null
        }))
        hasKeys(t, updated, ['id', 'msg', 'user'], 'update_user result')
        t.equal(updated.msg, `updated user ID:${created.id} user14`)
        t.same(await replay(t, call('delete_user', { userid: created.id })), { id: created.id, msg: `deleted user ID:${created.id} user14`, user: null })
      })

      t.test('get_users_group, get_users_groups', async (t) => {
        const team = await replay(t, call('get_users_group', { usersgroupid: 'lab' }))
        hasKeys(t, team, groupNew, 'group')
        t.same(await replay(t, call('get_users_group', { group_name: 'lab' })), team, 'the 1.3 name')
        for (const group of await replay(t, call('get_users_groups', {}))) hasKeys(t, group, groupNew, `group ${group.group_name}`)
      })

      t.test('create_users_group', async (t) => {
        const created = await replay(t, call('create_users_group', { group_name: 'crew14', active: true }))
        hasKeys(t, created, ['id', 'msg', 'users_group'], 'create_users_group result')
        t.equal(created.msg, 'created new users group `crew14`')
        hasKeys(t, created.users_group, groupNew, 'users_group')
      })

      t.test('add_user_users_group and remove_user_from_users_group', async (t) => {
        const added = await replay(t, call('add_user_users_group', { usersgroupid: 'crew14', userid: 'watcher' }))
        t.same(added, { id: w.ids.watcher, success: true, msg: 'added member `watcher` to users group `crew14`' })
        t.same(await replay(t, call('add_user_users_group', { group_name: 'crew14', username: 'outsider' })),
          { id: w.ids.outsider, success: true, msg: 'added member `outsider` to users group `crew14`' }, 'the 1.3 names')
        t.same(await replay(t, call('add_user_to_users_group', { usersgroupid: 'crew14', userid: w.ids.watcher })),
          { id: w.ids.watcher, success: false, msg: 'User is already in that group' })
        t.same(await replay(t, call('remove_user_from_users_group', { usersgroupid: 'crew14', userid: 'watcher' })),
          { success: true, msg: 'removed member `watcher` from users group `crew14`' })
        t.same(await replay(t, call('remove_user_from_users_group', { group_name: 'crew14', username: 'outsider' })),
          { success: true, msg: 'removed member `outsider` from users group `crew14`' }, 'the 1.3 names')
        t.same(await replay(t, call('remove_user_from_users_group', { group_name: 'crew14', username: 'outsider' })),
          { success: false, msg: 'User wasn\'t in group' })
      })

      t.test('get_repo, get_repos', async (t) => {
        const repo = await replay(t, call('get_repo', { repoid: 'genomics' }))
        hasKeys(t, repo, [...repoNew, 'members'], 'repository')
        for (const member of repo.members.filter((m: any) => m.type === 'user')) hasKeys(t, member, ['type', 'user_id', 'username', 'permission'], 'user member')
        for (const member of repo.members.filter((m: any) => m.type === 'users_group')) hasKeys(t, member, ['type', 'id', 'name', 'permission'], 'group member')
        for (const each of await replay(t, call('get_repos', {}))) hasKeys(t, each, repoNew, `repository ${each.repo_name}`)
      })

      t.test('get_repo_nodes', async (t) => {
        const nodes = await replay(t, call('get_repo_nodes', { repoid: 'genomics', revision: 'tip', root_path: '', ret_type: 'all' }))
        for (const node of nodes) hasKeys(t, node, ['name', 'type'], 'node')
        t.same(await replay(t, call('get_repo_nodes', { repo_name: 'genomics', revision: 'tip', root_path: '', ret_type: 'all' })), nodes, 'the 1.3 name')
      })

      t.test('create_repo, delete_repo', async (t) => {
        const created = await replay(t, call('create_repo', {
          repo_name: 'repo14', owner: 'watcher', repo_type: 'hg', description: '', private: false, clone_uri: null, landing_rev: 'tip'
        }))
        hasKeys(t, created, ['id', 'msg', 'repo'], 'create_repo result')
        t.equal(created.msg, 'Created new repository `repo14`')
        hasKeys(t, created.repo, repoNew, 'repo')
        t.equal(created.repo.owner, 'watcher')
        const older = await replay(t, call('create_repo', {
          repo_name: 'repo13', owner_name: 'watcher', description: '', repo_type: 'hg', private: false, clone_uri: null
        }))
        t.match(older, { msg: 'Created new repository `repo13`', repo: { owner: 'watcher' } }, 'the 1.3 names: the object, not 1.2\'s None')
        t.same(await replay(t, call('delete_repo', { repoid: 'repo14' })), { msg: 'Deleted repository `repo14`', success: true })
        t.same(await replay(t, call('delete_repo', { repo_name: 'repo13' })), { msg: 'Deleted repository `repo13`', success: true }, 'the 1.3 name')
      })

      t.test('grant and revoke permissions, in both texts\' names', async (t) => {
        t.same(await replay(t, call('grant_user_permission', { repoid: 'genomics', userid: 'outsider', perm: 'repository.read' })),
          { msg: 'Granted perm: `repository.read` for user: `outsider` in repo: `genomics`', success: true })
        t.same(await replay(t, call('grant_user_permission', { repo_name: 'genomics', username: 'outsider', perm: 'repository.write' })),
          { msg: 'Granted perm: `repository.write` for user: `outsider` in repo: `genomics`', success: true })
        t.same(await replay(t, call('revoke_user_permission', { repoid: 'genomics', userid: 'outsider' })),
          { msg: 'Revoked perm for user: `outsider` in repo: `genomics`', success: true })
        await replay(t, call('grant_user_permission', { repoid: 'genomics', userid: 'outsider', perm: 'repository.read' }))
        t.same(await replay(t, call('revoke_user_permission', { repo_name: 'genomics', username: 'outsider' })),
          { msg: 'Revoked perm for user: `outsider` in repo: `genomics`', success: true })
        t.same(await replay(t, call('grant_users_group_permission', { repoid: 'genomics', usersgroupid: 'crew14', perm: 'repository.read' })),
          { msg: 'Granted perm: `repository.read` for group: `crew14` in repo: `genomics`', success: true })
        t.same(await replay(t, call('grant_users_group_permission', { repo_name: 'genomics', group_name: 'crew14', perm: 'repository.admin' })),
          { msg: 'Granted perm: `repository.admin` for group: `crew14` in repo: `genomics`', success: true })
        t.same(await replay(t, call('revoke_users_group_permission', { repoid: 'genomics', usersgroupid: 'crew14' })),
          { msg: 'Revoked perm for group: `crew14` in repo: `genomics`', success: true })
        await replay(t, call('grant_users_group_permission', { repoid: 'genomics', usersgroupid: 'crew14', perm: 'repository.read' }))
        t.same(await replay(t, call('revoke_users_group_permission', { repo_name: 'genomics', users_group: 'crew14' })),
          { msg: 'Revoked perm for group: `crew14` in repo: `genomics`', success: true })
        t.same((await w.domain.projects.get(systemActor, 'genomics')).groups.map((g) => g.name), ['lab'])
      })

      t.test('bad input in the 1.3 names', async (t) => {
        await refused(t, call('add_user_users_group', { group_name: 'crew14' }), 'Missing non optional `username` arg in JSON DATA')
        await refused(t, call('remove_user_from_users_group', { username: 'watcher' }), 'Missing non optional `group_name` arg in JSON DATA')
        await refused(t, call('grant_user_permission', { repo_name: 'genomics', username: 'outsider' }), 'Missing non optional `perm` arg in JSON DATA')
        await refused(t, call('grant_user_permission', { repo_name: 'genomics', perm: 'repository.read' }), 'Missing non optional `username` arg in JSON DATA')
        await refused(t, call('revoke_users_group_permission', { repo_name: 'genomics', users_group: true }), 'Invalid `users_group` arg (must be integer or string) in JSON DATA')
        await refused(t, call('delete_repo', { repo_name: null }), 'Invalid `repo_name` arg (must be integer or string) in JSON DATA')
        await refused(t, call('get_repo_nodes', { repo_name: 'genomics', root_path: '' }), 'Missing non optional `revision` arg in JSON DATA')
        await refused(t, call('create_repo', { repo_name: 'x13', owner_name: 'ghost' }), 'Invalid input: owner: no such user ghost (project)')
        await refused(t, call('add_user_users_group', { usersgroupid: 'crew14', username: 'watcher', userid: 'watcher' }),
          'Invalid `userid` arg (names the same argument as `username`) in JSON DATA')
      })
    })

    t.test('JSON-RPC 2.0 takes the older names by name, and reports them', async (t) => {
      const post = async (body: unknown) => (await w.app.inject({
        method: 'POST', url: '/_admin/api', headers: { 'content-type': 'application/json', 'x-api-key': w.keys.admin }, payload: JSON.stringify(body)
      })).json()
      const team = await post({ jsonrpc: '2.0', id: 1, method: 'get_users_group', params: { group_name: 'lab' } })
      t.match(team, { id: 1, result: { group_name: 'lab', name: 'lab' } })
      const missing = await post({ jsonrpc: '2.0', id: 2, method: 'add_user_to_repo', params: { repo_name: 'genomics', perm: null } })
      t.match(missing.error, { code: -32602, message: 'Missing non optional `user_name` arg in JSON DATA', data: { missing: 'user_name' } })
      const wrong = await post({ jsonrpc: '2.0', id: 3, method: 'add_user_users_group', params: { group_name: 1.5, user_name: 'watcher' } })
      t.match(wrong.error, { code: -32602, data: { fields: [{ field: 'group_name' }] } })
      const positional = await post({ jsonrpc: '2.0', id: 4, method: 'add_users_group_to_repo', params: ['genomics', 'lab', null] })
      t.same(positional, { jsonrpc: '2.0', id: 4, result: null }, 'positional params of a 1.2 method, in its order')
      t.same((await w.domain.projects.get(systemActor, 'genomics')).groups, [])
    })
  })
}
