/**
 * Each method's happy path in RhodeCode's envelope: the msg texts, the result
 * shapes (checked against the schemas published in the OpenRPC document) and the
 * effect on the domain.
 */
import t, { type Test } from 'tap'
import { Value } from 'typebox/value'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { emptySha256 } from '../../../src/storage/blob-store.ts'
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
      t.same(owner.permissions.repositories, { genomics: 'repository.admin' }, 'the owner administers its project')
      const contributor = await ok(t, 'contributor', 'get_user', { userid: 'contributor' })
      t.same(contributor.permissions.repositories, { genomics: 'repository.write' })
      const groupie = await ok(t, 'groupie', 'get_user', { userid: 'groupie' })
      t.same(groupie.groups, ['lab'])
      t.same(groupie.permissions.repositories, { genomics: 'repository.write' }, 'through its group')
      const watcher = await ok(t, 'watcher', 'update_user', { userid: 'watcher', firstname: 'Wanda', password: 'a-new-password' })
      t.equal(watcher.user.firstname, 'Wanda', 'users change their own names')
    })

    t.test("a user's permissions follow the domain's rule for group grants", async (t) => {
      await w.domain.projects.create(systemActor, { name: 'grouped', owner: 'owner' })
      await w.domain.projects.setGroupGrant(systemActor, 'grouped', 'lab', 'watcher')
      await w.domain.groups.create(systemActor, { name: 'dormant', members: ['groupie'], active: false })
      await w.domain.projects.setGroupGrant(systemActor, 'genomics', 'dormant', 'manager')
      t.teardown(async () => {
        await w.domain.projects.delete(systemActor, 'grouped')
        await w.domain.groups.delete(systemActor, 'dormant')
      })
      const expected = { genomics: 'repository.write', grouped: 'repository.read' }
      const groupie = await ok(t, 'groupie', 'get_user', { userid: 'groupie' })
      t.same(groupie.permissions.repositories, expected,
        'a project reached through an active group is listed; an inactive group grants nothing')
      t.same((await ok(t, 'admin', 'get_user', { userid: 'groupie' })).permissions.repositories, expected,
        'an administrator reads the same permissions')
      const grant = await rhodecode(w, w.keys.groupie, 'grant_user_permission', { repoid: 'genomics', userid: 'outsider', perm: 'repository.read' })
      t.match(grant.error, /manager/, 'and the domain refuses the manager role the inactive group would grant')
    })

    t.test('users groups', async (t) => {
      const groups = await ok(t, 'admin', 'get_users_groups')
      t.same(groups.map((g: any) => g.group_name), ['lab'])
      const team = await ok(t, 'groupie', 'get_users_group', { usersgroupid: 'lab' })
      t.match(team, { group_name: 'lab', active: true, members: [{ username: 'groupie', user_id: w.ids.groupie }] })
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
      t.same(repos.map((r: any) => r.repo_name), ['genomics', 'private'])
      const proj = await ok(t, 'watcher', 'get_repo', { repoid: 'genomics' })
      t.match(proj, { repo_name: 'genomics', repo_id: proj.id, repo_type: 'mobyle', description: 'assemblies', owner: 'owner', private: true })
      t.same(proj.members.map((m: any) => [m.type, m.username ?? m.group_name, m.permission]), [
        ['user', 'owner', 'repository.admin'],
        ['user', 'manager', 'repository.admin'],
        ['user', 'contributor', 'repository.write'],
        ['user', 'watcher', 'repository.read'],
        ['user', 'suspended', 'repository.write'],
        ['users_group', 'lab', 'repository.write']
      ])
      t.same(await ok(t, 'watcher', 'get_repo', { repoid: proj.id }), proj, 'by id or by name')
      t.equal(await ok(t, 'admin', 'get_repo', { repoid: 'nothing' }), null)

      await w.domain.projects.addData(systemActor, 'genomics', { name: 'reads.fasta' })
      const nodes = await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'genomics', revision: 'tip', root_path: '/' })
      const data = (await w.domain.projects.get(systemActor, 'genomics')).data
      t.equal(data[0]?.id, w.dataId, "the world's data item, then the new one")
      t.same(nodes, [
        { name: 'services', type: 'dir' },
        { name: 'services/assembly::genomics::pasteur', type: 'file' },
        { name: 'services/shared::genomics::pasteur', type: 'file' },
        { name: 'jobs', type: 'dir' },
        { name: `jobs/${w.jobId}`, type: 'file' },
        { name: 'data', type: 'dir' },
        ...data.map((item) => ({ name: `data/${item.id}`, type: 'file' }))
      ])
      t.equal(data.length, 2)
      const datas = await ok(t, 'watcher', 'get_datas', { repoid: 'genomics' })
      t.same(datas.map((d: any) => [d.data_id, d.name, d.size, d.sha256, d.media_type]),
        data.map((item) => [item.id, item.name, 0, emptySha256, 'application/octet-stream']), 'items without content hold the empty blob')
      t.same(await ok(t, 'watcher', 'get_data', { repoid: proj.id, dataid: w.dataId }), datas[0], 'by project id or name')
      t.match(datas[0], { id: w.dataId, repo_id: proj.id, description: '', format: null, uploader_id: w.ids.owner, job_id: null, created_on: /^\d{4}-/ })
      t.equal(await ok(t, 'watcher', 'get_data', { repoid: 'genomics', dataid: 424242 }), null, 'an item that is not there is none')
      t.same(await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'genomics', revision: 'tip', root_path: 'services' }),
        [{ name: 'services/assembly::genomics::pasteur', type: 'file' }, { name: 'services/shared::genomics::pasteur', type: 'file' }])
      t.same((await ok(t, 'contributor', 'get_repo_nodes', { repoid: 'genomics', revision: 'tip', root_path: '', ret_type: 'dirs' })).map((n: any) => n.name),
        ['services', 'jobs', 'data'])
      const missing = await rhodecode(w, w.keys.contributor, 'get_repo_nodes', { repoid: 'genomics', revision: 'tip', root_path: 'nope' })
      t.equal(missing.error, 'path `nope` does not exist')

      const mine = await ok(t, 'outsider', 'create_repo', { repo_name: 'mine', description: 'my own', repo_type: 'hg', private: true, landing_rev: 'tip' })
      t.equal(mine.msg, 'Created new repository `mine`')
      t.match(mine.repo, { id: mine.id, repo_name: 'mine', owner: 'outsider', description: 'my own' })
      const forWatcher = await ok(t, 'admin', 'create_repo', { repo_name: 'theirs', owner: w.ids.watcher })
      t.equal(forWatcher.repo.owner, 'watcher', 'administrators create projects for others, by id or username')

      t.same(await ok(t, 'outsider', 'grant_user_permission', { repoid: 'mine', userid: 'watcher', perm: 'repository.write' }),
        { msg: 'Granted perm: `repository.write` for user: `watcher` in repo: `mine`', success: true })
      t.match((await ok(t, 'outsider', 'get_repo', { repoid: 'mine' })).members, [{ username: 'outsider' }, { username: 'watcher', permission: 'repository.write' }])
      await ok(t, 'outsider', 'grant_user_permission', { repoid: 'mine', userid: 'watcher', perm: 'repository.none' })
      t.equal((await ok(t, 'outsider', 'get_repo', { repoid: 'mine' })).members.length, 1, 'repository.none removes the role')
      await ok(t, 'outsider', 'grant_user_permission', { repoid: 'mine', userid: w.ids.watcher, perm: 'repository.read' })
      t.same(await ok(t, 'outsider', 'revoke_user_permission', { repoid: 'mine', userid: 'watcher' }),
        { msg: 'Revoked perm for user: `watcher` in repo: `mine`', success: true })
      t.same(await ok(t, 'outsider', 'revoke_user_permission', { repoid: 'mine', userid: 'watcher' }),
        { msg: 'User `watcher` had no perm in repo: `mine`', success: false }, 'revoking what is not there changes nothing and says so')

      t.same(await ok(t, 'admin', 'grant_users_group_permission', { repoid: 'mine', usersgroupid: 'lab', perm: 'repository.read' }),
        { msg: 'Granted perm: `repository.read` for group: `lab` in repo: `mine`', success: true })
      t.match((await ok(t, 'groupie', 'get_repo', { repoid: 'mine' })).members[1], { type: 'users_group', group_name: 'lab', permission: 'repository.read' },
        'a group grant lets its members see the project')
      t.same((await ok(t, 'groupie', 'get_user', { userid: 'groupie' })).permissions.repositories, { genomics: 'repository.write', mine: 'repository.read' },
        "and the grant is among the member's permissions")
      t.same(await ok(t, 'outsider', 'revoke_users_group_permission', { repoid: 'mine', usersgroupid: 'lab' }),
        { msg: 'Revoked perm for group: `lab` in repo: `mine`', success: true })
      t.same(await ok(t, 'outsider', 'revoke_users_group_permission', { repoid: 'mine', usersgroupid: 'lab' }),
        { msg: 'Group `lab` had no perm in repo: `mine`', success: false })

      t.equal(await ok(t, 'outsider', 'add_user_to_repo', { repo_name: 'mine', user_name: 'watcher', perm: 'repository.read' }), null)
      t.match((await ok(t, 'outsider', 'get_repo', { repoid: 'mine' })).members, [{ username: 'outsider' }, { username: 'watcher', permission: 'repository.read' }])
      t.equal(await ok(t, 'outsider', 'add_user_to_repo', { repo_name: 'mine', user_name: 'watcher', perm: null }), null)
      t.equal(await ok(t, 'admin', 'add_users_group_to_repo', { repo_name: 'mine', group_name: 'lab', perm: 'repository.write' }), null)
      t.same((await ok(t, 'outsider', 'get_repo', { repoid: 'mine' })).members.map((m: any) => [m.type, m.permission]),
        [['user', 'repository.admin'], ['users_group', 'repository.write']], 'perm null removed the user; the group was granted')
      t.equal(await ok(t, 'outsider', 'add_users_group_to_repo', { repo_name: 'mine', group_name: 'lab', perm: null }), null)
      t.equal((await ok(t, 'outsider', 'get_repo', { repoid: 'mine' })).members.length, 1)

      t.same(await ok(t, 'outsider', 'delete_repo', { repoid: 'mine' }), { msg: 'Deleted repository `mine`', success: true })
      t.equal(await ok(t, 'admin', 'get_repo', { repoid: 'mine' }), null)

      const pull = await rhodecode(w, w.keys.admin, 'pull', { serverid: 'genomics' })
      t.same(pull, { id: pull.id, result: null, error: 'server `genomics` does not exist' })
    })

    t.test('servers and services', async (t) => {
      t.same(await ok(t, 'outsider', 'get_servers'), [
        { name: 'inactive', url: 'https://old.example.org', services: ['legacy'], active: false, description: '' },
        { name: 'pasteur', url: 'https://mobyle.pasteur.fr', services: ['blast', 'clustalw', 'hidden', 'shared'], active: true, description: '' }
      ], "the outsider sees its own project's service and the exported one, not genomics' own")
      t.same((await ok(t, 'admin', 'get_server', { serverid: 'pasteur' })).services, ['assembly', 'blast', 'clustalw', 'hidden', 'shared'], 'services the caller can see')
      t.equal(await ok(t, 'admin', 'get_server', { serverid: 'nothing' }), null)

      const created = await ok(t, 'admin', 'create_server', { name: 'other', url: 'https://other.example.org/', description: 'another' })
      t.same(created, { msg: 'created new server `other`', server: { name: 'other', url: 'https://other.example.org/', services: [], active: true, description: 'another' } })
      const updated = await ok(t, 'admin', 'update_server', { serverid: 'other', active: false })
      t.same(updated, { msg: 'updated server `other`', server: { ...created.server, active: false } })
      t.same(await ok(t, 'admin', 'delete_server', { serverid: 'other' }), { msg: 'deleted server `other`', success: true })

      t.same(await ok(t, 'outsider', 'get_services'), [
        { name: 'blast', server: 'pasteur', type: 'program', exported: false, disabled: false, authorized: true, description: '', interface: '/services/blast::pasteur/interface' },
        { name: 'clustalw', server: 'pasteur', type: 'program', exported: false, disabled: true, authorized: false, description: '' },
        { name: 'hidden', server: 'pasteur', project: 'private', type: 'program', exported: false, disabled: false, authorized: true, description: '' },
        { name: 'legacy', server: 'inactive', type: 'widget', exported: false, disabled: false, authorized: false, description: '' },
        { name: 'shared', server: 'pasteur', project: 'genomics', type: 'program', exported: true, disabled: false, authorized: false, description: '' }
      ])
      t.same((await ok(t, 'watcher', 'get_services')).map((s: any) => [s.name, s.project]),
        [['assembly', 'genomics'], ['blast', undefined], ['clustalw', undefined], ['legacy', undefined], ['shared', 'genomics']])
      const assembly = await ok(t, 'contributor', 'get_service', { serviceid: 'assembly::genomics::pasteur' })
      t.same(assembly, { name: 'assembly', server: 'pasteur', project: 'genomics', type: 'workflow', exported: false, disabled: false, authorized: true, description: '' })
      t.notOk('project' in await ok(t, 'outsider', 'get_service', { serviceid: 'blast::pasteur' }), 'no project for a server-level service')
      t.equal(await ok(t, 'outsider', 'get_service', { serviceid: 'assembly::genomics::pasteur' }), null, 'a service the caller cannot see is none')

      const align = await ok(t, 'manager', 'create_service', { name: 'align', server: 'pasteur', project: 'genomics', type: 'program', exported: true })
      t.same(align, { msg: 'created new service `align::genomics::pasteur`', service: { name: 'align', server: 'pasteur', project: 'genomics', type: 'program', exported: true, disabled: false, authorized: true, description: '' } })
      const disabled = await ok(t, 'owner', 'update_service', { serviceid: 'align::genomics::pasteur', disabled: true, description: 'maintenance' })
      t.match(disabled, { msg: 'updated service `align::genomics::pasteur`', service: { disabled: true, authorized: false, description: 'maintenance' } })
      t.same(await ok(t, 'manager', 'delete_service', { serviceid: 'align::genomics::pasteur' }), { msg: 'deleted service `align::genomics::pasteur`', success: true })
    })

    t.test('jobs', async (t) => {
      const project = (await w.domain.projects.get(systemActor, 'genomics')).id
      const seeded = await ok(t, 'watcher', 'get_job', { repoid: 'genomics', jobid: w.jobId })
      t.match(seeded, {
        id: w.jobId, job_id: w.jobId, repo_id: project, name: 'run 1', service: 'blast::pasteur', state: 'queued', reason: null, exit_code: null,
        message: '', created_on: /^\d{4}-/, started_on: null, finished_on: null, inputs: {}, submitter_id: w.ids.owner, outputs: {}
      })
      t.match(seeded.history, [{ state: 'queued', at: seeded.created_on }])
      t.equal(await ok(t, 'watcher', 'get_job', { repoid: 'genomics', jobid: 424242 }), null, 'a job that is not there is none')

      const created = await ok(t, 'contributor', 'create_job', { repoid: 'genomics', service: 'blast::pasteur', inputs: { message: 'hello' }, name: 'said' })
      t.match(created, { name: 'said', state: 'queued', inputs: { message: 'hello' }, submitter_id: w.ids.contributor, repo_id: project })
      const invalid = await rhodecode(w, w.keys.contributor, 'create_job', { repoid: 'genomics', service: 'blast::pasteur', inputs: { message: 42, colour: 'red' } })
      t.match(invalid, { result: null, error: /inputs\/message: .*inputs\/colour: / }, 'each field named')
      const old = await rhodecode(w, w.keys.contributor, 'create_job', { repoid: 'genomics', service: 'blast::pasteur', status: 'running' })
      t.match(old, { result: null, error: /Unknown arg `status`/ }, 'the old free-text status is no argument')

      t.same((await ok(t, 'watcher', 'get_jobs', { repoid: 'genomics' })).map((j: any) => j.id), [w.jobId, created.id])
      const cancelled = await ok(t, 'contributor', 'cancel_job', { repoid: 'genomics', jobid: created.id })
      t.equal(cancelled.cancelled, true, 'a queued job is cancelled at once')
      t.match(cancelled.job, { id: created.id, state: 'cancelled', finished_on: /^\d{4}-/ })
      t.same(cancelled.job.history.map((e: any) => e.state), ['queued', 'cancelled'])
      t.match(await rhodecode(w, w.keys.contributor, 'cancel_job', { repoid: 'genomics', jobid: created.id }), { result: null, error: /has ended \(cancelled\)/ })
      t.same((await ok(t, 'watcher', 'get_jobs', { repoid: 'genomics', state: 'cancelled' })).map((j: any) => j.id), [created.id])
      const [held] = await w.domain.jobQueue.claim('test-worker', 'local', 1)
      t.equal(held?.id, w.jobId)
      const asked = await ok(t, 'owner', 'cancel_job', { repoid: project, jobid: w.jobId })
      t.match(asked, { cancelled: false, job: { state: 'running', started_on: /^\d{4}-/ } }, 'a running job is asked to stop')
    })

    t.test('every method but pull (test/federation) has a happy path above', async (t) => {
      t.same([...called].sort(), methodList.map((m) => m.name).filter((name) => name !== 'pull').sort())
    })
  })
}
