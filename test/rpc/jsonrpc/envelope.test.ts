/**
 * RhodeCode's envelope over HTTP: every error message of its controller, word for
 * word, the content types its clients send, bodies that are empty, malformed or
 * too large, the login throttle, and the mapping of domain errors.
 */
import t from 'tap'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { rhodecode, roles, world, type World } from './fixture.ts'

async function post (w: World, payload: string | undefined, headers: Record<string, string> = { 'content-type': 'text/plain' }) {
  const response = await w.app.inject({ method: 'POST', url: '/_admin/api', payload, headers })
  return { status: response.statusCode, headers: response.headers, body: response.json() }
}

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const w = await world(t, kind, { LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_ADDRESS_FAILURES: '100000', BODY_LIMIT: '65536' })
    const call = (body: unknown) => JSON.stringify(body)

    t.test('an empty body', async (t) => {
      for (const headers of [{} as Record<string, string>, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }]) {
        const response = await post(w, undefined, headers)
        t.equal(response.status, 200)
        t.match(response.headers['content-type'], /^application\/json/)
        t.same(response.body, { id: null, result: null, error: 'Content-Length is 0' }, JSON.stringify(headers))
        t.same((await post(w, '', headers)).body, { id: null, result: null, error: 'Content-Length is 0' })
      }
    })

    t.test('a body that is no JSON', async (t) => {
      const response = await post(w, '{"id": 1, "api_key": ')
      t.equal(response.status, 200)
      t.equal(response.body.id, null)
      t.equal(response.body.result, null)
      t.match(response.body.error, /^JSON parse error ERR:.+ RAW:'\{"id": 1, "api_key": '$/)
      const quoted = await post(w, 'it\'s\nnot \\ json')
      t.match(quoted.body.error, / RAW:'it\\'s\\nnot \\\\ json'$/, 'RAW is quoted as Python\'s repr')
      const long = await post(w, `x${'y'.repeat(50_000)}`)
      t.match(long.body.error, /^JSON parse error ERR:.+ RAW:'xy+\.\.\.'$/)
      t.ok(long.body.error.length < 500, 'RAW is truncated')
    })

    t.test('each missing envelope key, in the controller\'s order', async (t) => {
      const full = { id: 7, api_key: w.keys.admin, method: 'get_users', args: {} }
      for (const key of ['api_key', 'method', 'args'] as const) {
        const { [key]: _left, ...rest } = full
        const response = await post(w, call(rest))
        t.same(response.body, { id: 7, result: null, error: `Incorrect JSON query missing '${key}'` })
      }
      const { id: _id, ...withoutId } = full
      const answer = (await post(w, call(withoutId))).body
      t.same([answer.id, answer.error, answer.result.length], [null, null, roles.length], 'RhodeCode 1.2\'s envelope has no id: answered with id null')
      t.same((await post(w, call({ api_key: w.keys.admin }))).body, { id: null, result: null, error: 'Incorrect JSON query missing \'method\'' })
      t.same((await post(w, call({}))).body, { id: null, result: null, error: 'Incorrect JSON query missing \'api_key\'' })
    })

    t.test('a JSON value that is no call', async (t) => {
      for (const body of ['"text"', '42', 'null', 'true']) {
        t.same((await post(w, body)).body, { id: null, result: null, error: 'Incorrect JSON query: expected a JSON object' }, body)
      }
    })

    t.test('Invalid API KEY', async (t) => {
      for (const key of ['not-a-key', '', 12345, null]) {
        t.same((await post(w, call({ id: 1, api_key: key, method: 'get_users', args: {} }))).body,
          { id: 1, result: null, error: 'Invalid API KEY' }, JSON.stringify(key))
      }
    })

    t.test('No such method', async (t) => {
      t.same(await rhodecode(w, w.keys.admin, 'drop_database'), { id: 1, result: null, error: 'No such method: drop_database' })
      t.same(await rhodecode(w, w.keys.admin, 'constructor'), { id: 1, result: null, error: 'No such method: constructor' })
    })

    t.test('arguments', async (t) => {
      t.same(await rhodecode(w, w.keys.admin, 'get_user', {}), { id: 1, result: null, error: 'Missing non optional `userid` arg in JSON DATA' })
      t.equal((await rhodecode(w, w.keys.admin, 'create_user', { username: 'someone' })).error, 'Missing non optional `email` arg in JSON DATA')
      t.equal((await rhodecode(w, w.keys.admin, 'get_user', { userid: 'owner', bogus: 1 })).error,
        'Unknown arg `bogus` in JSON DATA; get_user takes `userid`')
      t.equal((await rhodecode(w, w.keys.admin, 'get_users', { a: 1, b: 2 })).error, 'Unknown args `a`, `b` in JSON DATA; get_users takes no args')
      t.equal((await rhodecode(w, w.keys.admin, 'get_user', { userid: true })).error, 'Invalid `userid` arg (must be integer or string) in JSON DATA')
      t.match((await rhodecode(w, w.keys.admin, 'get_user', { userid: 'no spaces' })).error, /^Invalid `userid` arg \(must match pattern .+\) in JSON DATA$/,
        'a string id is judged as a username')
      t.equal((await rhodecode(w, w.keys.admin, 'create_user', { username: 'u1', email: 'u1@example.org', password: 'pw', firstname: 5 })).error,
        'Invalid `firstname` arg (must be string or null) in JSON DATA')
      t.equal((await rhodecode(w, w.keys.admin, 'create_users_group', { group_name: 'ok', active: 'yes' })).error,
        'Invalid `active` arg (must be boolean) in JSON DATA')
      t.equal((await rhodecode(w, w.keys.admin, 'grant_user_permission', { repoid: 'genomics', userid: 'outsider', perm: 'repository.owner' })).error,
        'Invalid `perm` arg (must be one of repository.none, repository.read, repository.write, repository.admin) in JSON DATA')
      t.match((await rhodecode(w, w.keys.admin, 'create_user', { username: 'someone', email: 'not an address', password: 'pw', admin: 'no' })).error,
        /^Invalid `email` arg \(.+\), `admin` arg \(must be boolean\) in JSON DATA$/)
      t.equal((await rhodecode(w, w.keys.admin, 'create_repo', { repo_name: 'cloned', clone_uri: 'https://hg.example.org/x' })).error,
        'Invalid `clone_uri` arg (must be null) in JSON DATA', 'projects are not cloned')
      t.equal((await post(w, call({ id: 1, api_key: w.keys.admin, method: 'get_users', args: [] }))).body.error,
        'Incorrect JSON query: `args` must be an object of named arguments')
      t.equal((await post(w, call({ id: 1, api_key: w.keys.admin, method: 'get_users', args: null }))).body.error, null, 'null args are no args')
      t.equal((await w.domain.users.list(systemActor, { username: 'someone' })).total, 0, 'a refused create writes nothing')
    })

    t.test('domain errors', async (t) => {
      t.equal((await rhodecode(w, w.keys.admin, 'create_user', { username: 'owner', email: 'x@example.org', password: 'pw' })).error,
        'user with key "owner" exists')
      t.equal((await rhodecode(w, w.keys.admin, 'grant_user_permission', { repoid: 'ghost', userid: 'outsider', perm: 'repository.read' })).error,
        'repository `ghost` does not exist')
      t.equal((await rhodecode(w, w.keys.admin, 'grant_user_permission', { repoid: 'genomics', userid: 'ghost', perm: 'repository.read' })).error,
        'user `ghost` does not exist')
      t.equal((await rhodecode(w, w.keys.admin, 'grant_users_group_permission', { repoid: 'genomics', usersgroupid: 'ghost', perm: 'repository.read' })).error,
        'users group `ghost` does not exist')
      t.equal((await rhodecode(w, w.keys.admin, 'create_service', { name: 'x', server: 'ghost', type: 'program' })).error,
        'Invalid input: server: no such server ghost (service)')
      t.equal((await rhodecode(w, w.keys.admin, 'delete_user', { userid: 'owner' })).error,
        'user owner owns 1 project(s); transfer or delete them first')
      t.equal((await rhodecode(w, w.keys.watcher, 'get_users')).error, 'Permission denied: listing users is for administrators')
      t.equal((await rhodecode(w, w.keys.suspended, 'get_user', { userid: 'suspended' })).error,
        'Permission denied: account suspended is suspended: you abused our resources', 'the status message of a suspended account')
    })

    t.test('the id comes back as sent', async (t) => {
      for (const id of ['abc', 0, null, 3.5, { nested: [1] }]) {
        t.same((await rhodecode(w, w.keys.admin, 'get_server', { serverid: 'pasteur' }, id)).id, id, JSON.stringify(id))
      }
    })

    t.test('whatever the content type', async (t) => {
      const body = call({ id: 3, api_key: w.keys.owner, method: 'get_repo', args: { repoid: 'genomics' } })
      for (const headers of [{} as Record<string, string>, { 'content-type': 'text/plain' }, { 'content-type': 'application/json' }, { 'content-type': 'application/octet-stream' }]) {
        const response = await post(w, body, headers)
        t.equal(response.status, 200)
        t.match(response.body, { id: 3, result: { repo_name: 'genomics' }, error: null }, JSON.stringify(headers))
      }
      const encoded = await post(w, encodeURIComponent(body).replace(/%20/g, '+'), { 'content-type': 'application/x-www-form-urlencoded' })
      t.match(encoded.body, { id: 3, result: { repo_name: 'genomics' }, error: null }, 'a URL-encoded body, as RhodeCode decodes it')
      const plus = await rhodecode(w, w.keys.admin, 'create_user', { username: 'plus', email: 'a+b@example.org', password: '100%+' })
      t.equal(plus.result.user.email, 'a+b@example.org', 'a plain JSON body keeps its + and %')
    })

    t.test('a body over the limit', async (t) => {
      const huge = call({ id: 1, api_key: w.keys.admin, method: 'get_users', args: { padding: 'x'.repeat(100_000) } })
      const response = await post(w, huge)
      t.equal(response.status, 413)
      t.same(response.body, { id: null, result: null, error: 'Request body is larger than the limit of 65536 bytes' })
      t.equal((await rhodecode(w, w.keys.admin, 'get_server', { serverid: 'pasteur' })).error, null, 'the server goes on')
    })

    t.test('GET and other methods are no calls', async (t) => {
      const response = await w.app.inject({ method: 'PUT', url: '/_admin/api', payload: '{}' })
      t.equal(response.statusCode, 404)
    })
  })

  t.test(`${kind}: the login throttle`, async (t) => {
    const w = await world(t, kind, { LOGIN_MAX_ADDRESS_FAILURES: '2', LOGIN_WINDOW_SECONDS: '600' })
    for (let attempt = 0; attempt < 2; attempt++) {
      t.equal((await rhodecode(w, 'wrong-key', 'get_users')).error, 'Invalid API KEY')
    }
    const response = await w.app.inject({
      method: 'POST', url: '/_admin/api', headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ id: 9, api_key: 'wrong-key', method: 'get_users', args: {} })
    })
    t.equal(response.statusCode, 200)
    const body = response.json()
    t.match(body, { id: 9, result: null, error: /^Too many failed logins: retry after \d+ seconds$/ })
    const seconds = Number(/retry after (\d+) seconds/.exec(body.error)![1])
    t.ok(seconds > 0 && seconds <= 600, 'within the window')
    t.equal(response.headers['retry-after'], String(seconds))
    t.equal((await rhodecode(w, w.keys.admin, 'get_users')).error, null, 'a valid key is never throttled')
  })
}
