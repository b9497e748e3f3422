/**
 * The transport-independent core, in memory: unexpected failures become
 * "Internal server error" without leaking, notifications answer nothing, the
 * batch limit holds, and the method table can be called directly.
 */
import t from 'tap'
import Type from 'typebox'
import { build, databaseKinds } from '../../helper.ts'
import { anonymous, systemActor, Unauthenticated, type Actor } from '../../../src/domain/index.ts'
import { JsonRpcEndpoint, type CallerSource } from '../../../src/rpc/jsonrpc/envelope.ts'
import { defineMethod, invoke } from '../../../src/rpc/jsonrpc/method.ts'
import { methods } from '../../../src/rpc/jsonrpc/methods/index.ts'

const secret = 'the database password is hunter2'
const explode = defineMethod({
  name: 'explode',
  summary: 'Fails the way a bug would.',
  params: Type.Object({}),
  result: Type.Null(),
  run: async () => { throw new Error(secret) }
})

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const { domain } = await build(t, { kind })
    const endpoint = new JsonRpcEndpoint(domain, { maxBatch: 2 }, new Map([...methods, [explode.name, explode]]))
    const logged: Array<{ error: unknown, call: { method: string, id: unknown } }> = []
    const source: CallerSource = {
      actorFor: async (key): Promise<Actor> => {
        if (key === 'good') return systemActor
        throw new Unauthenticated()
      },
      transportActor: async () => anonymous,
      logFailure: (error, call) => { logged.push({ error, call }) }
    }

    t.test('an unexpected failure', async (t) => {
      const rhodecode = await endpoint.receive(JSON.stringify({ id: 1, api_key: 'good', method: 'explode', args: {} }), source)
      t.same(rhodecode, { body: { id: 1, result: null, error: 'Internal server error' } })
      const v2 = await endpoint.receive(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'explode' }), source)
      t.same(v2, { body: { jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'Internal server error' } } })
      t.notOk(JSON.stringify([rhodecode, v2]).includes('hunter2'), 'nothing of it reaches the caller')
      t.same(logged.map((entry) => [(entry.error as Error).message, entry.call]), [[secret, { method: 'explode', id: 1 }], [secret, { method: 'explode', id: 2 }]],
        'but the server logs it with the call')
    })

    t.test('notifications and the batch limit', async (t) => {
      t.equal(await endpoint.receive(JSON.stringify({ jsonrpc: '2.0', method: 'get_servers' }), source), null)
      t.equal(await endpoint.receive(JSON.stringify({ jsonrpc: '2.0', method: 'explode' }), source), null, 'a failing notification too')
      const calls = [1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'get_servers' }))
      t.match(await endpoint.receive(JSON.stringify(calls), source), { body: { error: { code: -32600, data: { maxBatch: 2 } } } })
      t.match(await endpoint.receive(JSON.stringify(calls.slice(0, 2)), source), { body: [{ id: 1, result: [] }, { id: 2, result: [] }] })
    })

    t.test('the method table, called directly', async (t) => {
      await invoke(methods.get('create_server')!, domain, systemActor, { name: 'direct', url: 'https://direct.example.org/' })
      t.same(await invoke(methods.get('get_servers')!, domain, anonymous, {}),
        [{ name: 'direct', url: 'https://direct.example.org/', services: [], active: true, description: '' }])
      await t.rejects(invoke(methods.get('get_server')!, domain, anonymous, { serverid: 1 }), { message: 'Invalid `serverid` arg (must be string) in JSON DATA' })
    })
  })
}
