/**
 * Every bad input yields a fault with its documented code and a message naming
 * what is wrong, through Python's xmlrpc.client; and a failing create or set
 * writes nothing.
 */
import t from 'tap'
import { systemActor } from '../../../src/domain/index.ts'
import { databaseKinds } from '../../helper.ts'
import { password, seededApp } from '../../fixtures.ts'
import { listen, runCalls, type PythonCall } from './python.ts'

type Expected = [code: number, message: string | RegExp]
type Case = [name: string, method: string, params: unknown[], expected: Expected]

/** The bad calls, on designators of the seeded world: its administrator, project, server, job and the administrator's API key. */
const casesFor = ({ user, project, server, job, apikey }: Record<'user' | 'project' | 'server' | 'job' | 'apikey', string>): Case[] => [
  ['list unknown class', 'list', ['nosuchclass'], [460, 'There is no class called "nosuchclass"']],
  ['display unknown class', 'display', ['nosuchclass1'], [460, 'There is no class called "nosuchclass"']],
  ['create unknown class', 'create', ['nosuchclass', 'name=x'], [460, 'There is no class called "nosuchclass"']],
  ['filter unknown class', 'filter', ['nosuchclass', null, {}], [460, 'There is no class called "nosuchclass"']],
  ['lookup unknown class', 'lookup', ['nosuchclass', 'x'], [460, 'There is no class called "nosuchclass"']],
  ['display unknown item', 'display', ['user999'], [404, 'no such user 999']],
  ['display unknown item, named property', 'display', ['server999', 'name'], [404, 'no such server 999']],
  ['set unknown item', 'set', ['user999', 'firstname=x'], [404, 'no such user 999']],
  ['malformed designator', 'display', ['user'], [-32602, '"user" not a node designator']],
  ['malformed designator 2', 'display', ['1'], [-32602, '"1" not a node designator']],
  ['lookup missing key', 'lookup', ['user', 'nosuchuser'], [404, 'No key (username) value "nosuchuser" for "user"']],
  ['lookup keyless class', 'lookup', ['job', 'x'], [405, 'No key property set for class job']],
  ['create unknown property', 'create', ['user', 'username=carol', 'password=x', 'nosuchprop=1'], [400, "'nosuchprop' is not a property of user"]],
  ['create without key', 'create', ['user', 'firstname=x'], [400, 'you must provide the "username" property.']],
  ['create argument without =', 'create', ['user', 'username'], [-32602, 'argument "username" not propname=value']],
  ['create non-string argument', 'create', ['user', 12], [-32602, 'argument "12" not propname=value']],
  ['create duplicate key', 'create', ['user', 'username=admin'], [409, 'node with key "admin" exists']],
  ['rename to a taken key', 'set', [project, 'name=private'], [409, 'node with key "private" exists']],
  ['create bad link key', 'create', ['service', 'name=x', 'server=nosuchserver', 'type=program'], [400, "property server: 'nosuchserver' is not a server."]],
  ['create bad link id', 'create', ['service', 'name=x', 'server=99', 'type=program'], [400, "property server: '99' is not a server."]],
  ['create bad multilink', 'create', ['group', 'name=g', 'members=admin,nobody'], [400, "property members: 'nobody' is not a user."]],
  ['create bad boolean', 'create', ['server', 'name=x', 'url=http://x.org', 'active=maybe'], [400, "property active: 'maybe' is not a boolean."]],
  ['create value the domain refuses', 'create', ['server', 'name=bad name', 'url=http://x.org'], [400, /^name: .* \(server\)$/]],
  ['create bad enum', 'create', ['service', 'name=x', 'server=pasteur', 'type=spaceship'], [400, /type: must be one of program, workflow, widget/]],
  ['display unknown property', 'display', [user, 'nosuchprop'], [400, "'nosuchprop' is not a property of user"]],
  ['display password', 'display', [user, 'password'], [403, 'Permission to view password of user denied']],
  ['set unknown property', 'set', [user, 'nosuchprop=1'], [400, "'nosuchprop' is not a property of user"]],
  ['set read-only property', 'set', [user, 'creation=2020-01-01'], [400, 'property creation is read-only']],
  ['set half-bad', 'set', [server, 'name=renamed', 'url=notaurl'], [400, /^url: .* \(server\)$/]],
  ['set on a class without set', 'set', [job, 'name=x'], [405, 'items of class job cannot be changed']],
  ['filter unknown property', 'filter', ['server', null, { colour: 'x' }], [400, "'colour' is not a property of server"]],
  ['filter spec not a struct', 'filter', ['server', null, 'x'], [-32602, 'filter(): the filter spec must be a struct']],
  ['filter bad id', 'filter', ['server', ['x'], {}], [-32602, 'filter(): "x" is not an id']],
  ['filter with a struct for an id', 'filter', ['server', [{}], {}], [-32602, 'filter(): a value that is neither text nor a number is not an id']],
  ['filter bad sort direction', 'filter', ['server', null, {}, [['*', 'name']]], [-32602, 'filter(): each sort entry must be ("+" or "-", property)']],
  ['filter sort unknown property', 'filter', ['server', null, {}, [['+', 'colour']]], [400, "'colour' is not a property of server"]],
  ['filter bad boolean', 'filter', ['server', null, { active: 'perhaps' }], [400, "property active: 'perhaps' is not a boolean."]],
  ['list unknown property', 'list', ['user', 'nosuchprop'], [400, "'nosuchprop' is not a property of user"]],
  ['list password', 'list', ['user', 'password'], [403, 'Permission to view password of user denied']],
  ['list without arguments', 'list', [], [-32602, 'list(classname, [property]) takes 1 to 2 arguments, got 0']],
  ['list non-string class', 'list', [1], [-32602, 'list(): argument "classname" must be a string']],
  ['display without arguments', 'display', [], [-32602, /^display\(designator, \[property, …\]\) takes at least 1/]],
  ['lookup with too many arguments', 'lookup', ['user', 'a', 'b'], [-32602, /takes 2 argument\(s\), got 3/]],
  ['unknown method', 'nosuchmethod', [], [-32601, 'method "nosuchmethod" is not supported']],
  ['unknown method with arguments', 'nosuchmethod', [1, 'x'], [-32601, 'method "nosuchmethod" is not supported']],
  ['private-looking method', '_dispatch', ['list', ['user']], [-32601, 'method "_dispatch" is not supported']],
  ['help for an unknown method', 'system.methodHelp', ['nosuch'], [-32601, 'method "nosuch" is not supported']],
  ['unknown action', 'action', ['nosuchaction', user], [405, 'action "nosuchaction" is not supported']],
  ['retire without designator', 'action', ['retire'], [-32602, 'action("retire") takes exactly one designator']],
  ['retire the last administrator', 'action', ['retire', user], [409, /last active administrator/]],
  ['retire a job', 'action', ['retire', job], [405, 'items of class job cannot be retired or restored']],
  ['restore a revoked key', 'action', ['restore', apikey], [405, 'a revoked apikey cannot be restored']],
  ['cancel a server', 'action', ['cancel', server], [405, 'only jobs are cancelled, not items of class server']],
  ['cancel two jobs at once', 'action', ['cancel', job, job], [-32602, 'action("cancel") takes exactly one designator']],
  ['create a job with the old status', 'create', ['job', 'project=genomics', 'service=blast::pasteur', 'status=running'], [400, "'status' is not a property of job"]],
  ['create a job with inputs that are no JSON', 'create', ['job', 'project=genomics', 'service=blast::pasteur', 'inputs=x'], [400, /^property inputs: is not JSON/]],
  ['create a job with a read-only state', 'create', ['job', 'project=genomics', 'service=blast::pasteur', 'state=ok'], [400, 'property state is read-only']],
  ['create a job of a service without interface', 'create', ['job', 'project=genomics', 'service=assembly::genomics::pasteur'], [400, /has no interface/]],
  ['multicall not a list', 'system.multicall', ['x'], [-32602, 'system.multicall(): expects a list of calls']]
]

for (const kind of databaseKinds) {
  t.test(`${kind}: faults for bad input, through Python's xmlrpc.client`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind, { apiKeys: true })
    const serverId = (await domain.servers.get(systemActor, 'pasteur')).id
    const [adminKey] = await domain.apiKeys.list(systemActor, s.ids.admin)
    const designators = {
      user: `user${s.ids.admin}`, project: `project${s.projectId}`, server: `server${serverId}`, job: `job${s.jobId}`, apikey: `apikey${adminKey!.id}`
    }
    const cases = casesFor(designators)
    const url = await listen(app)
    const asAdmin = (name: string, method: string, params: unknown[]): PythonCall =>
      ({ name, method, params, user: 'admin', password })
    const results = await runCalls(url, [
      ...cases.map(([name, method, params]) => asAdmin(name, method, params)),
      asAdmin('carol after failed create', 'lookup', ['user', 'carol']),
      asAdmin('server after failed set', 'display', [designators.server, 'name', 'url']),
      asAdmin('nested multicall', 'system.multicall', [[
        { methodName: 'system.multicall', params: [[]] },
        { methodName: 'list', params: ['nosuchclass'] },
        { methodName: 'lookup', params: ['server', 'pasteur'] }
      ]]),
      asAdmin('revoke a key', 'action', ['retire', designators.apikey])
    ])
    for (const [name, , , [code, message]] of cases) {
      const outcome = results[name]
      t.ok(outcome !== undefined && 'fault' in outcome, `${name}: a fault`, { found: outcome })
      if (outcome === undefined || !('fault' in outcome)) continue
      t.equal(outcome.fault[0], code, `${name}: fault code ${code}`)
      if (typeof message === 'string') t.equal(outcome.fault[1], message, `${name}: message`)
      else t.match(outcome.fault[1], message, `${name}: message`)
    }
    t.same(results['carol after failed create'], { fault: [404, 'No key (username) value "carol" for "user"'] },
      'a create with one bad property wrote nothing')
    t.same(results['server after failed set'], { result: { name: 'pasteur', url: 'https://mobyle.pasteur.fr' } },
      'a set with one bad value wrote nothing')
    t.same(results['nested multicall'], {
      result: [
        { faultCode: -32602, faultString: 'system.multicall cannot be nested' },
        { faultCode: 460, faultString: 'There is no class called "nosuchclass"' },
        [String(serverId)]
      ]
    }, 'each call of a multicall fails or succeeds on its own')
    t.same(results['revoke a key'], { result: null })
  })
}
