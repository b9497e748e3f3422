/**
 * The JSON-RPC 2.0 dialect, spoken by a JSON-RPC 2.0 client library (npm
 * json-rpc-2.0) over real HTTP: named and positional params, the key in params or
 * in headers, the standard and application error codes, notifications, batches.
 */
import t, { type Test } from 'tap'
import { JSONRPCClient, type JSONRPCRequest } from 'json-rpc-2.0'
import { databaseKinds } from '../../helper.ts'
import { systemActor } from '../../../src/domain/index.ts'
import { errorCodes } from '../../../src/rpc/jsonrpc/errors.ts'
import { basic } from '../../fixtures.ts'
import { world, type World } from './fixture.ts'

interface Sent { status: number, retryAfter: string | null, body: string }

/** A json-rpc-2.0 client posting to the server; `sent` keeps the last HTTP exchange. */
function clientFor (url: string, headers: Record<string, string> = {}) {
  const sent: Sent[] = []
  const inFlight: Array<Promise<void>> = []
  const client: JSONRPCClient = new JSONRPCClient(async (request: JSONRPCRequest | JSONRPCRequest[]) => {
    const exchange = (async () => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(request) })
      const body = await response.text()
      sent.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body })
      if (response.status === 200) client.receive(JSON.parse(body))
      else if (response.status !== 204) throw new Error(`HTTP ${response.status}`)
    })()
    inFlight.push(exchange)
    await exchange
  })
  /** Waits for every exchange, notifications included (the library does not wait for those). */
  const settled = async (): Promise<void> => { await Promise.all(inFlight) }
  return { client, sent, settled }
}

/** t.rejects for the library's PromiseLike results. */
async function rejects (t: Test, call: PromiseLike<unknown>, expected: { code: number, message?: string | RegExp, data?: unknown }): Promise<void> {
  await t.rejects(Promise.resolve(call), expected)
}

async function listen (w: World): Promise<string> {
  const address = await w.app.listen({ host: '127.0.0.1', port: 0 })
  return `${address}/_admin/api`
}

async function postRaw (url: string, body: string): Promise<{ status: number, json: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const text = await response.text()
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
}

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const w = await world(t, kind, { LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_ADDRESS_FAILURES: '100000' })
    const url = await listen(w)

    t.test('named params, with the key in params.api_key', async (t) => {
      const { client } = clientFor(url)
      const owner = await client.request('get_user', { api_key: w.keys.owner, userid: 'owner' })
      t.match(owner, { username: 'owner', permissions: { repositories: { genomics: 'repository.admin' } } })
      const created = await client.request('create_repo', { api_key: w.keys.outsider, repo_name: 'named' })
      t.equal(created.msg, 'Created new repository `named`')
    })

    t.test('positional params, in the documented order, with the key in a header', async (t) => {
      const { client } = clientFor(url, { 'x-api-key': w.keys.owner })
      t.same(await client.request('grant_user_permission', ['genomics', 'outsider', 'repository.read']),
        { msg: 'Granted perm: `repository.read` for user: `outsider` in repo: `genomics`', success: true })
      const nodes = await client.request('get_repo_nodes', ['genomics', 'tip', '', 'dirs'])
      t.same(nodes.map((n: any) => n.name), ['services', 'jobs', 'data'])
      const bearer = clientFor(url, { authorization: `Bearer ${w.keys.outsider}` }).client
      t.match(await bearer.request('get_repo', ['genomics']), { repo_name: 'genomics' }, 'the grant took effect; Bearer works too')
      const withBasic = clientFor(url, basic('watcher')).client
      t.match(await withBasic.request('get_user', { userid: 'watcher' }), { username: 'watcher' }, 'and Basic')
      await rejects(t, client.request('get_repo', ['genomics', 'extra']), { code: errorCodes.invalid_params, message: 'Too many params: get_repo takes 1 (repoid), 2 were sent' })
      await rejects(t, client.request('get_servers', [1]), { code: errorCodes.invalid_params, message: 'Too many params: get_servers takes no params, 1 were sent' })
    })

    t.test('anonymous callers meet the domain\'s rules', async (t) => {
      const { client } = clientFor(url)
      t.same((await client.request('get_servers', undefined)).map((s: any) => s.name), ['inactive', 'pasteur'])
      t.same((await client.request('get_services', [])).map((s: any) => s.name), ['blast', 'clustalw', 'legacy', 'shared'], 'public services only')
      t.equal(await client.request('get_user', ['owner']), null, 'a user out of sight answers as one that does not exist')
      await rejects(t, client.request('get_users', undefined), { code: errorCodes.unauthenticated, message: 'Authentication required: send a valid API key' })
      await rejects(t, clientFor(url, { 'x-api-key': 'wrong' }).client.request('get_servers', undefined), { code: -32001, message: 'Invalid credentials' })
      await rejects(t, client.request('get_servers', { api_key: 'wrong' }), { code: -32001, message: 'Invalid API KEY' })
      await rejects(t, client.request('get_servers', { api_key: 42 }), { code: -32602, message: 'Invalid `api_key` param: must be a string' })
    })

    t.test('error codes', async (t) => {
      const admin = clientFor(url, { 'x-api-key': w.keys.admin }).client
      const watcher = clientFor(url, { 'x-api-key': w.keys.watcher }).client
      const suspended = clientFor(url, { 'x-api-key': w.keys.suspended }).client
      await rejects(t, admin.request('nope', undefined), { code: -32601, message: 'No such method: nope' })
      await rejects(t, admin.request('get_user', undefined), { code: -32602, message: 'Missing non optional `userid` arg in JSON DATA', data: { missing: 'userid' } })
      await rejects(t, admin.request('get_user', { userid: 'x', other: 1 }), { code: -32602, data: { unknown: ['other'] } })
      await rejects(t, admin.request('get_user', [true]), { code: -32602, message: 'Invalid `userid` arg (must be integer or string) in JSON DATA' })
      await rejects(t, watcher.request('get_users', undefined), { code: -32003, message: 'Permission denied: listing users is for administrators', data: { reason: 'forbidden' } })
      await rejects(t, suspended.request('get_user', ['suspended']), { code: -32003, message: /is suspended: you abused our resources$/ })
      await rejects(t, admin.request('delete_repo', ['ghost']), { code: -32004, message: 'repository `ghost` does not exist', data: { resource: 'repository', key: 'ghost' } })
      await rejects(t, admin.request('create_server', { name: 'pasteur', url: 'https://x.example.org/' }), { code: -32009, message: 'server with key "pasteur" exists' })
      await rejects(t, admin.request('create_service', { name: 'x', server: 'ghost', type: 'program' }),
        { code: -32022, data: { reason: 'invalid', fields: [{ field: 'server', message: 'no such server ghost' }] } })
      await rejects(t, admin.request('pull', ['genomics']), { code: -32004, message: 'server `genomics` does not exist' })
      t.equal(await admin.request('get_user', ['nobody']), null, 'get_* answers null for what does not exist')
    })

    t.test('malformed requests', async (t) => {
      const parse = await postRaw(url, '{"jsonrpc": "2.0", "method": "get_servers", "id": 1')
      t.equal(parse.status, 200)
      t.match(parse.json, { jsonrpc: '2.0', id: null, error: { code: -32700, message: /^Parse error: / } })
      t.match((await postRaw(url, '[{"jsonrpc": "2.0", "method": "get_servers"},')).json, { error: { code: -32700 } }, 'a broken batch')
      const invalid = async (body: unknown, id: unknown = null) => {
        const { json } = await postRaw(url, JSON.stringify(body))
        t.match(json, { jsonrpc: '2.0', id, error: { code: -32600, message: /^Invalid Request: / } }, JSON.stringify(body))
      }
      await invalid({ jsonrpc: '2.0', method: 1, id: 1 }, 1)
      await invalid({ jsonrpc: '2.0', method: 'get_servers', id: { an: 'object' } })
      await invalid({ jsonrpc: '2.0', method: 'get_servers', id: 2, params: 'text' }, 2)
      // Written by hand: JSON.stringify could not write it exactly either.
      const huge = await postRaw(url, '{"jsonrpc": "2.0", "method": "get_servers", "id": 9007199254740993}')
      t.match(huge.json, { id: null, error: { code: -32600, message: /too large to be read exactly.*as a string/ } },
        'an integer id past 2^53 - 1 is refused, not answered as another id')
      const rhodecode = await postRaw(url, `{"id": 9007199254740993, "api_key": "${w.keys.admin}", "method": "get_servers", "args": {}}`)
      t.match(rhodecode.json, { id: null, result: null, error: /too large to be read exactly/ }, "and in RhodeCode's envelope")
      t.match((await postRaw(url, '{"jsonrpc": "2.0", "method": "get_servers", "id": 9007199254740991}')).json, { id: 9007199254740991, result: {} },
        '2^53 - 1 itself comes back as sent')
      await invalid([])
      const mixed = await postRaw(url, JSON.stringify([1, { jsonrpc: '1.0', method: 'get_servers', id: 3 }]))
      t.same(mixed.json.map((r: any) => r.error.code), [-32600, -32600], 'each bad member of a batch has its own error')
    })

    t.test('notifications are not answered', async (t) => {
      const { client, sent, settled } = clientFor(url)
      client.notify('create_users_group', { api_key: w.keys.admin, group_name: 'notified' })
      await settled()
      t.same(sent.at(-1), { status: 204, retryAfter: null, body: '' })
      t.same((await w.domain.groups.get(systemActor, 'notified')).name, 'notified', 'yet it was carried out')
      client.notify('create_users_group', { api_key: w.keys.watcher, group_name: 'refused' })
      await settled()
      t.equal(sent.at(-1)!.status, 204, 'not even a failing one')
      const batch = await postRaw(url, JSON.stringify([{ jsonrpc: '2.0', method: 'get_servers' }, { jsonrpc: '2.0', method: 'nope' }]))
      t.same(batch, { status: 204, json: undefined }, 'a batch of notifications answers nothing')
    })

    t.test('a batch mixing good and bad calls', async (t) => {
      const { client, sent } = clientFor(url)
      const responses = await client.requestAdvanced([
        { jsonrpc: '2.0', id: 'a', method: 'get_users', params: { api_key: w.keys.admin } },
        { jsonrpc: '2.0', id: 'b', method: 'get_users', params: { api_key: w.keys.watcher } },
        { jsonrpc: '2.0', id: 'c', method: 'get_user', params: { api_key: 'wrong', userid: 'admin' } },
        { jsonrpc: '2.0', method: 'create_users_group', params: { api_key: w.keys.admin, group_name: 'batched' } },
        { jsonrpc: '2.0', id: 'd', method: 'nope', params: {} },
        { jsonrpc: '2.0', id: 'e', method: 'get_users_group', params: { api_key: w.keys.admin, usersgroupid: 'batched' } },
        { jsonrpc: '2.0', id: 'f', method: 'get_repo', params: [] }
      ])
      t.equal(sent.at(-1)!.status, 200)
      t.same(responses.map((r) => [r.id, r.error?.code ?? 'ok']), [
        ['a', 'ok'], ['b', -32003], ['c', -32001], ['d', -32601], ['e', 'ok'], ['f', -32602]
      ], 'one answer per call with an id, in order, each authorised on its own')
      t.match(responses[4]!.result, { group_name: 'batched' }, 'calls run in the order sent')
    })

    t.test('a batch over the limit', async (t) => {
      const calls = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'get_servers' }))
      const { json } = await postRaw(url, JSON.stringify(calls))
      t.match(json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: a batch holds at most 100 calls, this one 101' } })
      const { json: full } = await postRaw(url, JSON.stringify(calls.slice(0, 100)))
      t.equal(full.length, 100, '100 calls are fine')
    })
  })

  t.test(`${kind}: too many failed logins`, async (t) => {
    const w = await world(t, kind, { LOGIN_MAX_FAILURES: '1', LOGIN_MAX_ADDRESS_FAILURES: '1' })
    const url = await listen(w)
    const { client, sent } = clientFor(url)
    await rejects(t, client.request('get_servers', { api_key: 'wrong' }), { code: -32001 })
    await rejects(t, client.request('get_servers', { api_key: 'wrong again' }), { code: -32029, message: /^Too many failed logins: retry after \d+ seconds$/, data: { retryAfterSeconds: Number } })
    t.match(sent.at(-1)!.retryAfter, /^\d+$/, 'with a Retry-After header')
    t.ok(await client.request('get_servers', { api_key: w.keys.admin }), 'a valid key is never throttled')
  })
}
