/**
 * Values the database cannot store — NUL and unpaired surrogates in text, ids
 * past the 32-bit columns, offsets past any table — are refused in each
 * protocol's own form (400 problem, XML-RPC fault, JSON-RPC error), never as an
 * internal error, and leave nothing half-written.
 */
import t from 'tap'
import { systemActor } from '../src/domain/index.ts'
import { encodeValue, type Renderable } from '../src/rpc/xmlrpc/codec.ts'
import { databaseKinds } from './helper.ts'
import { basic } from './fixtures.ts'
import { rhodecode, world, type World } from './rpc/jsonrpc/fixture.ts'

const nul = 'a\u0000b'
const loneSurrogate = 'a\ud800b'

async function rest (w: World, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, who: 'admin' | 'outsider' = 'admin') {
  const response = await w.app.inject({
    method, url, headers: { 'x-api-key': w.keys[who], ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, payload: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: response.statusCode, type: String(response.headers['content-type']), body: response.json<{ errors?: Array<{ field: string, message: string }>, detail?: string }>() }
}

async function xmlrpc (w: World, method: string, params: Renderable[]): Promise<{ fault?: number, message?: string, body: string }> {
  const xml = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${encodeValue(p)}</param>`).join('')}</params></methodCall>`
  const response = await w.app.inject({ method: 'POST', url: '/xmlrpc', headers: { 'content-type': 'text/xml', ...basic('admin') }, payload: xml })
  const fault = /<name>faultCode<\/name>\s*<value><int>(-?\d+)<\/int>/.exec(response.body)
  const message = /<name>faultString<\/name>\s*<value><string>([^<]*)<\/string>/.exec(response.body)
  return { fault: fault === null ? undefined : Number(fault[1]), message: message?.[1], body: response.body }
}

for (const kind of databaseKinds) {
  t.test(`${kind}: text the database cannot store`, async (t) => {
    const w = await world(t, kind)
    const cases: Array<[string, 'POST' | 'PATCH', string, Record<string, unknown>, 'admin' | 'outsider', string]> = [
      ['a server', 'POST', '/servers', { name: 'nul', url: 'http://nul.example', description: nul }, 'admin', 'description'],
      ['a server, unpaired surrogate', 'POST', '/servers', { name: 'sur', url: 'http://sur.example', description: loneSurrogate }, 'admin', 'description'],
      ['a server update', 'PATCH', '/servers/pasteur', { description: nul }, 'admin', 'description'],
      ['a user', 'POST', '/users', { username: 'nul', lastname: nul }, 'admin', 'lastname'],
      ['a user on itself', 'PATCH', `/users/${w.ids.outsider}`, { lastname: nul }, 'outsider', 'lastname'],
      ['a project', 'POST', '/projects', { name: 'nulproj', description: nul }, 'outsider', 'description'],
      ['a job', 'POST', '/projects/genomics/jobs', { name: nul, service: 'blast::pasteur' }, 'admin', 'name'],
      ['a job\'s input', 'POST', '/projects/genomics/jobs', { service: 'blast::pasteur', inputs: { message: nul } }, 'admin', 'inputs/message'],
      ['a data item', 'POST', '/projects/genomics/data', { name: 'd', description: nul }, 'admin', 'description'],
      ['a group', 'POST', '/groups', { name: 'nulgroup', description: nul }, 'admin', 'description'],
      ['an API key label', 'POST', `/users/${w.ids.outsider}/api-keys`, { label: nul }, 'outsider', 'label']
    ]
    const projectId = (await w.domain.projects.get(systemActor, 'genomics')).id
    for (const [what, method, path, body, who, field] of cases) {
      const url = path.replace('/projects/genomics', `/projects/${projectId}`)
      const answer = await rest(w, method, url, body, who)
      t.equal(answer.status, 400, `REST: ${what} → 400`)
      t.match(answer.type, /^application\/problem\+json/)
      t.match(answer.body.errors, [{ field, message: /NUL \(U\+0000\) or unpaired surrogate/ }], `the field is named (${field})`)
    }
    t.equal((await w.domain.servers.list(systemActor)).items.filter((s) => s.name === 'nul' || s.name === 'sur').length, 0, 'nothing written')
    t.equal((await w.domain.servers.get(systemActor, 'pasteur')).description, '', 'nothing changed')

    const created = await rhodecode(w, w.keys.admin, 'create_server', { name: 'nul', url: 'http://nul.example', description: nul })
    t.match(created, { result: null, error: /description: must not contain NUL/ }, 'JSON-RPC create_server names the argument')
    const updated = await rhodecode(w, w.keys.outsider, 'update_user', { userid: 'outsider', lastname: nul })
    t.match(updated, { result: null, error: /lastname: must not contain NUL/ }, 'JSON-RPC update_user names the argument')

    t.equal((await rest(w, 'GET', `/groups/${encodeURIComponent(nul)}`)).status, 400, 'a name with NUL is no name')
    t.match(await rhodecode(w, w.keys.admin, 'get_repo', { repoid: nul }), { result: null, error: /repoid.*must match pattern/ })
    t.match(await rhodecode(w, w.keys.admin, 'get_user', { userid: nul }), { result: null, error: /userid/ })
    t.match(await xmlrpc(w, 'lookup', ['project', nul.replace('\u0000', '\u0001')]), { fault: 404 }, 'XML cannot carry NUL; a control character names nothing')
  })

  t.test(`${kind}: numbers the database cannot store`, async (t) => {
    const w = await world(t, kind)
    const offset = await rest(w, 'GET', '/servers/?offset=99999999999999999999')
    t.equal(offset.status, 400, 'an offset past any table: 400')
    t.match(offset.body.errors, [{ field: 'offset' }])
    t.equal((await rest(w, 'GET', '/servers/?offset=2147483647')).status, 200, 'the largest offset is answered')

    t.match(await xmlrpc(w, 'display', ['user2147483648']), { fault: 404, message: 'no such user 2147483648' }, 'XML-RPC: an id past the column is not found, as through REST')
    t.match(await xmlrpc(w, 'display', ['user99999999999999999999']), { fault: -32602, message: /not a node designator/ })
    t.match(await xmlrpc(w, 'set', ['user2147483648', 'firstname=x']), { fault: 404 })
    t.match(await xmlrpc(w, 'filter', ['service', null, { project: '2147483648' }]), { fault: undefined })
    const owner = await xmlrpc(w, 'create', ['project', 'name=bigowner', 'owner=2147483648'])
    t.ok(owner.fault !== undefined && owner.fault >= 400 && owner.fault < 500, `XML-RPC create with owner=2147483648: fault ${owner.fault ?? '?'} ${owner.message ?? ''}`)
    t.match(await xmlrpc(w, 'create', ['server', { name: 'x' }]), { fault: -32602, message: 'argument "{"name":"x"}" not propname=value' },
      'a struct where strings are expected')
    const server = `server${(await w.domain.servers.get(systemActor, 'pasteur')).id}`
    t.match(await xmlrpc(w, 'set', [server, ['name=x']]), { fault: -32602, message: /not propname=value/ }, 'an array where strings are expected')

    for (const userid of [2147483648, 1e300, -1, 1.5]) {
      const answer = await rhodecode(w, w.keys.admin, 'get_user', { userid })
      t.notMatch(answer.error ?? '', /Internal/, `JSON-RPC get_user ${userid}`)
      t.equal(answer.result, null)
    }
    const health = await w.app.inject({ url: '/healthz' })
    t.equal(health.statusCode, 200)
  })
}

t.test('ids past the columns on every write that locks its row first', async (t) => {
  const w = await world(t, 'pglite')
  for (const [method, args] of [
    ['delete_repo', { repoid: 2215592461373835 }],
    ['grant_user_permission', { repoid: 2 ** 31, userid: 'watcher', perm: 'repository.read' }],
    ['delete_user', { userid: 2 ** 31 }],
    ['add_user_to_users_group', { usersgroupid: 2 ** 31, userid: 'watcher' }]
  ] as const) {
    const answer = await rhodecode(w, w.keys.admin, method, args)
    t.match(answer, { result: null, error: /does not exist/ }, `${method} ${JSON.stringify(args)}`)
  }
})
