/**
 * Usernames (and group names) are one name whatever their case, on every face: `Admin` cannot be
 * created beside `admin` (REST, XML-RPC create, JSON-RPC create_user alike), a
 * user is found and logs in by any case of its name, and failed logins count
 * together whatever case they were typed in.
 */
import t from 'tap'
import { basic, password, seededApp } from './fixtures.ts'
import { databaseKinds } from './helper.ts'

const xmlCall = (method: string, ...params: string[]): string =>
  `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${
    params.map((p) => `<param><value><string>${p}</string></value></param>`).join('')}</params></methodCall>`

for (const kind of databaseKinds) {
  t.test(`${kind}: usernames that differ only by case are one name`, async (t) => {
    const w = await seededApp(t, kind, { apiKeys: true })
    const admin = basic('admin')

    for (const name of ['Admin', 'ADMIN', 'aDmIn']) {
      const rest = await w.app.inject({ method: 'POST', url: '/users', headers: admin, payload: { username: name, password: 'another password' } })
      t.equal(rest.statusCode, 409, `REST: ${name} is refused while admin exists`)
      t.match(rest.json(), { errors: [{ field: 'username' }] })
    }
    const xml = await w.app.inject({
      method: 'POST', url: '/xmlrpc', headers: { ...admin, 'content-type': 'text/xml' }, payload: xmlCall('create', 'user', 'username=ADMIN', 'password=another password')
    })
    t.match(xml.body, /<fault>[\s\S]*node with key "ADMIN" exists/, 'XML-RPC create: the fault Roundup gives for a taken key')
    const json = await w.app.inject({
      method: 'POST', url: '/_admin/api', payload: { id: 1, api_key: w.keys.admin, method: 'create_user', args: { username: 'Admin', password: 'another password', email: 'other@example.org' } }
    })
    t.match(json.json(), { result: null, error: /Admin/ }, 'JSON-RPC create_user: an error naming the name')
    t.equal((await w.app.inject({ method: 'GET', url: '/users/', headers: admin })).json() !== null, true)
    t.equal((await w.db.prisma.user.count({ where: { usernameKey: 'admin' } })), 1, 'no second admin was written')

    const renamed = await w.app.inject({ method: 'PATCH', url: `/users/${w.ids.watcher}`, headers: admin, payload: { username: 'Watcher' } })
    t.equal(renamed.statusCode, 200, 'a user may be renamed to another case of its own name')
    t.equal(renamed.json().username, 'Watcher', 'stored as given')
    t.equal((await w.app.inject({ method: 'PATCH', url: `/users/${w.ids.watcher}`, headers: admin, payload: { username: 'OWNER' } })).statusCode, 409,
      "but not to another case of someone else's")

    for (const name of ['watcher', 'WATCHER', 'Watcher']) {
      t.equal((await w.app.inject({ method: 'GET', url: `/users/${w.ids.watcher}`, headers: basic(name) })).statusCode, 200, `logs in as ${name}`)
    }
    const lookup = await w.app.inject({ method: 'POST', url: '/xmlrpc', headers: { ...admin, 'content-type': 'text/xml' }, payload: xmlCall('lookup', 'user', 'WATCHER') })
    t.match(lookup.body, new RegExp(`<string>${w.ids.watcher}</string>`), 'XML-RPC lookup finds any case')
    const got = await w.app.inject({ method: 'POST', url: '/_admin/api', payload: { id: 1, api_key: w.keys.admin, method: 'get_user', args: { userid: 'wAtChEr' } } })
    t.equal(got.json().result?.user_id, w.ids.watcher, 'JSON-RPC get_user finds any case')

    // Group names are keys too.
    t.equal((await w.app.inject({ method: 'POST', url: '/groups', headers: admin, payload: { name: 'LAB' } })).statusCode, 409, 'a group LAB beside lab: refused')
    const group = await w.app.inject({ method: 'GET', url: '/groups/Lab', headers: admin })
    t.equal(group.statusCode, 200, 'a group is found by any case of its name')
    t.ok(group.json().members.includes('groupie'), 'the group lab itself')
    t.equal((await w.app.inject({ method: 'PUT', url: `/projects/${w.projectId}/groups/LAB`, headers: basic('owner'), payload: { role: 'watcher' } })).statusCode, 200,
      'and granted a role by it')

    // Failed logins count against the name, whatever case they were typed in.
    for (const name of ['contributor', 'CONTRIBUTOR', 'Contributor', 'contributoR']) {
      t.equal((await w.app.inject({ method: 'GET', url: '/servers/', headers: basic(name, 'wrong guess') })).statusCode, 401)
    }
    t.equal((await w.app.inject({ method: 'GET', url: '/servers/', headers: basic('contributor', password) })).statusCode, 429,
      'four failures (the limit) in four spellings refuse the right password from that address')
  })
}
