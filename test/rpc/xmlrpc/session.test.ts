/**
 * Roundup's sample session, and every verb on every class, driven by Python's
 * xmlrpc.client against a real server on each database.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { build, databaseKinds } from '../../helper.ts'
import { listen, runPython } from './python.ts'

for (const kind of databaseKinds) {
  t.test(`${kind}: Roundup's sample session through Python's xmlrpc.client`, async (t) => {
    const { app, domain } = await build(t, { kind })
    // Roundup's session starts from a tracker with its administrator only; every other item is created by the session.
    const adminId = String((await domain.users.create(systemActor, { username: 'admin', password: 'secret', is_admin: true })).id)
    const url = await listen(app)
    const steps = await runPython('session.py', [url.replace('http://', 'http://admin:secret@'), adminId])
    const result = (name: string): any => {
      const step = steps[name]
      t.ok(step !== undefined && 'result' in step, `${name} succeeds`, { found: step })
      return step !== undefined && 'result' in step ? step.result : undefined
    }

    const schema = result('schema')
    t.same(Object.keys(schema).sort(), ['apikey', 'data', 'group', 'job', 'project', 'server', 'service', 'user'])
    t.same(schema.server, [
      ['active', '<roundup.hyperdb.Boolean>'], ['activity', '<roundup.hyperdb.Date>'], ['creation', '<roundup.hyperdb.Date>'],
      ['description', '<roundup.hyperdb.String>'], ['lastsync', '<roundup.hyperdb.Date>'], ['name', '<roundup.hyperdb.String>'],
      ['syncerror', '<roundup.hyperdb.String>'], ['url', '<roundup.hyperdb.String>']
    ])
    t.match(schema.user, [['authentication_type', '<roundup.hyperdb.String>']])
    t.same(schema.user.find((p: string[]) => p[0] === 'password'), ['password', '<roundup.hyperdb.Password>'])
    t.same(schema.user.find((p: string[]) => p[0] === 'groups'), ['groups', '<roundup.hyperdb.Multilink to "group">'])
    t.same(schema.service.find((p: string[]) => p[0] === 'server'), ['server', '<roundup.hyperdb.Link to "server">'])
    for (const properties of Object.values<string[][]>(schema)) {
      const names = properties.map((p) => p[0]!)
      t.same(names, [...names].sort(), 'properties are sorted')
    }

    t.same(result('list_user'), ['admin'])
    t.same(result('list_user_id'), [adminId])
    const user1 = result('display_user1')
    t.equal(user1.username, 'admin')
    t.equal(user1.is_admin, true)
    t.equal(user1.email, null)
    t.same(user1.groups, [])
    t.notOk('password' in user1, 'display never shows the password')
    t.match(user1.creation, { dateTime: /^\d{8}T\d\d:\d\d:\d\d$/ }, 'dates are dateTime.iso8601')
    t.same(result('display_user1_some'), { is_admin: true, username: 'admin' })
    t.same(result('set_user1'), { firstname: 'Ada', lastname: 'Admin' })
    t.same(result('set_user1_again'), {}, 'setting the same value changes nothing')
    t.same(result('set_user1_nothing'), {})
    t.same(result('display_user1_after'), { firstname: 'Ada', lastname: 'Admin' })

    // create answers the new item's id; the session goes on with the ids it was given.
    const id = (step: string): string => {
      const created = result(step)
      const value = typeof created === 'object' && created !== null ? created.id : created
      t.match(value, /^[1-9]\d*$/, `${step} answers an id`)
      return value
    }
    const serverId = id('create_server')
    const bobId = id('create_user')
    const projectId = id('create_project')
    const serviceId = id('create_service')
    const serverServiceId = id('create_server_service')
    const groupId = id('create_group')
    const jobId = id('create_job')
    const dataId = id('create_data')
    const created = result('create_apikey')
    const apikeyId = id('create_apikey')
    t.match(created.secret, /^\S{20,}$/)
    t.not(serviceId, serverServiceId)
    const byId = (...ids: string[]): string[] => ids.slice().sort((a, b) => Number(a) - Number(b))

    t.same(result('list_service'), ['blast::phylo::bio', 'clustal::bio'])
    t.same(result('list_service_server'), [serverId, serverId])
    t.match(result('display_service1'), {
      fullname: 'blast::phylo::bio', name: 'blast', server: serverId, project: projectId, type: 'program', exported: false, disabled: false
    })
    const serverService = await domain.services.get(systemActor, Number(serverServiceId))
    t.equal(serverService.exported, true, 'exported=1 was parsed as a boolean')
    t.match(result('display_project1'), {
      name: 'phylo', description: 'trees', owner: bobId, services: [serviceId], jobs: [jobId], data: [dataId], managers: [], favorites: []
    })
    t.same(result('display_group1').members, byId(adminId, bobId))
    t.equal(result('interface'), 201, 'the program was given an interface over REST')
    const job = result('display_job1')
    t.match(job, {
      project: projectId, name: 'run1', service: serviceId, state: 'queued', reason: null, exit_code: null, message: '',
      inputs: '{"message":"hello"}', outputs: '{}', submitter: adminId, creation: { dateTime: /^\d{8}T/ }, started: null, finished: null
    })
    t.match(JSON.parse(job.history), [{ state: 'queued', at: /Z$/ }], 'the history, as JSON text')
    t.same(steps.create_job_status, { fault: [400, "'status' is not a property of job"] }, 'the old free-text status is no property')
    t.match(steps.create_job_bad_inputs, { fault: [400, /inputs\/message: .*inputs\/colour: /] }, 'each field named')
    t.match(steps.create_job_not_json, { fault: [400, /property inputs: is not JSON/] })
    t.same(schema.job, [
      ['creation', '<roundup.hyperdb.Date>'], ['exit_code', '<roundup.hyperdb.Number>'], ['finished', '<roundup.hyperdb.Date>'],
      ['history', '<roundup.hyperdb.String>'], ['inputs', '<roundup.hyperdb.String>'], ['message', '<roundup.hyperdb.String>'],
      ['name', '<roundup.hyperdb.String>'], ['outputs', '<roundup.hyperdb.String>'], ['project', '<roundup.hyperdb.Link to "project">'], ['reason', '<roundup.hyperdb.String>'],
      ['service', '<roundup.hyperdb.Link to "service">'], ['started', '<roundup.hyperdb.Date>'], ['state', '<roundup.hyperdb.String>'],
      ['submitter', '<roundup.hyperdb.Link to "user">']
    ])
    t.match(result('display_data1'), { project: projectId, name: 'seqs.fasta', description: 'input', job: null })
    const key = result('display_apikey1')
    t.match(key, { label: 'script', user: adminId, revoked: null })
    t.notOk('secret' in key, 'the secret is shown only once, by create')
    t.ok(created.secret.startsWith(key.hint))
    t.same(result('list_apikey'), ['script'])

    t.same(result('filter_adm'), [adminId])
    t.same(result('filter_ids'), [adminId])
    t.same(result('filter_ids_other'), [])
    t.same(result('filter_ids_empty'), [])
    t.same(result('filter_any'), byId(adminId, bobId))
    t.same(result('filter_sort_desc'), [bobId, adminId], 'by username, descending')
    t.same(result('filter_link_key'), byId(serviceId, serverServiceId))
    t.same(result('filter_link_id'), [serviceId])
    t.same(result('filter_multilink'), [groupId])
    t.same(result('filter_bool'), [serverServiceId])
    t.equal(result('lookup_admin'), adminId)
    t.equal(result('lookup_service'), serverServiceId)

    t.same(result('set_service'), { description: 'aligner', disabled: true })
    t.same(result('set_group_members'), { members: [adminId] })
    t.same(result('set_password'), { password: '<secret>' }, 'a changed password is reported, never shown')

    t.equal(result('retire_server_service'), null)
    t.same(result('list_after_retire'), ['blast::phylo::bio'])
    t.same(result('filter_after_retire'), [serviceId])
    t.same(result('display_retired'), { name: 'clustal' }, 'a retired item can still be displayed')
    t.equal(result('restore_server_service'), null)
    t.same(result('list_after_restore'), ['blast::phylo::bio', 'clustal::bio'])

    t.same(result('multicall'), [[adminId], { faultCode: 404, faultString: 'no such user 999' }, [['bio']]])
    t.same(result('list_methods'), [
      'action', 'create', 'display', 'filter', 'list', 'lookup', 'schema', 'set',
      'system.listMethods', 'system.methodHelp', 'system.methodSignature', 'system.multicall'
    ])
    t.match(result('method_help'), /filter\(classname/)
    t.same(result('method_signature'), [['string', 'string', 'string']])

    const every: Record<string, { list: string[], ids: string[] }> = {
      server: { list: ['bio'], ids: [serverId] },
      service: { list: ['blast::phylo::bio', 'clustal::bio'], ids: byId(serviceId, serverServiceId) },
      user: { list: ['admin', 'bob'], ids: byId(adminId, bobId) },
      group: { list: ['lab'], ids: [groupId] },
      project: { list: ['phylo'], ids: [projectId] },
      job: { list: ['run1'], ids: [jobId] },
      data: { list: ['seqs.fasta'], ids: [dataId] },
      apikey: { list: ['script'], ids: [apikeyId] }
    }
    for (const [name, expected] of Object.entries(every)) {
      t.same(result(`every_list_${name}`), expected.list, `list('${name}')`)
      t.same(result(`every_list_id_${name}`), expected.ids, `list('${name}', 'id')`)
      t.same(result(`every_filter_${name}`), expected.ids, `filter('${name}', None, {})`)
      t.equal(typeof result(`every_display_${name}`), 'object', `display('${name}${expected.ids[0] ?? ''}')`)
    }
    t.equal(result('every_lookup_server'), serverId)
    t.equal(result('every_lookup_group'), groupId)
    t.equal(result('every_lookup_project'), projectId)
    t.equal(result('every_lookup_user'), bobId)
    t.same(result('every_set_server'), { description: 'BLAST host' })
    t.same(result('every_set_project'), { description: 'phylogenies', owner: adminId })
    t.same(result('every_set_group'), { active: false })
    t.same(steps.every_set_apikey, { fault: [405, 'items of class apikey cannot be changed'] })
    t.same(result('every_filter_server_url'), [serverId])
    t.same(result('every_filter_project_owner'), [projectId])
    t.same(result('every_filter_job_service'), [jobId])
    t.same(result('every_filter_job_state'), [jobId])
    t.same(result('every_filter_job_state_none'), [])
    t.same(result('every_filter_data_name'), [dataId])
    t.same(result('every_filter_apikey_label'), [apikeyId])
    for (const [name, remaining] of Object.entries({ server: [], group: [], project: [], user: ['admin'] })) {
      t.equal(result(`every_retire_${name}`), null)
      t.same(result(`every_list_retired_${name}`), remaining, `a retired ${name} drops out of list`)
      t.equal(result(`every_restore_${name}`), null)
      t.same(result(`every_list_restored_${name}`), every[name]!.list, `a restored ${name} is back`)
    }

    t.same(result('job_with_retired_service'), { service: serviceId }, 'a job still links to its retired service')
    t.equal(result('cancel_job'), 'cancelled', 'a queued job is cancelled at once')
    t.match(steps.cancel_job_again, { fault: [409, /has ended \(cancelled\)/] })
    const cancelled = result('cancelled_job')
    t.match(cancelled, { state: 'cancelled', finished: { dateTime: /^\d{8}T/ } })
    t.same(JSON.parse(cancelled.history).map((e: { state: string }) => e.state), ['queued', 'cancelled'])
    t.same(steps.cancel_project, { fault: [405, 'only jobs are cancelled, not items of class project'] })

    t.equal(result('apikey_header'), adminId, 'an API key in X-API-Key authenticates')
    t.equal(result('apikey_basic'), adminId, 'an API key as the Basic password authenticates')
    t.equal(result('apikey_revoke'), null)
    t.same(steps.apikey_revoked_header, { fault: [401, 'Invalid login'] }, 'a revoked key no longer works')
  })
}
