/**
 * The OpenRPC document: valid against the OpenRPC meta-schema, listing every
 * method of the table with its params (in order) and result.
 */
import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import metaSchema from '@open-rpc/meta-schema'
import { build, databaseKinds } from '../../helper.ts'
import { argumentNames, requiredArguments } from '../../../src/rpc/jsonrpc/method.ts'
import { methodList } from '../../../src/rpc/jsonrpc/methods/index.ts'

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const { app } = await build(t, { kind })
    const response = await app.inject({ method: 'GET', url: '/_admin/api', headers: { host: 'rpc.example.org:8080' } })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^application\/json/)
    const document = response.json()

    t.test('valid against the OpenRPC meta-schema', async (t) => {
      // The meta-schema names its own dialect by a URL ajv does not know; it is draft-07.
      const { $schema: _dialect, ...schema } = metaSchema as unknown as Record<string, unknown>
      const ajv = new Ajv({ strict: false, allErrors: true })
      addFormats.default(ajv)
      const validate = ajv.compile(schema)
      t.ok(validate(document), JSON.stringify(validate.errors, null, 2))
      t.notOk(validate({ ...document, methods: [{ name: 'broken', params: [{ name: 'no-schema' }] }] }), 'the meta-schema does reject a broken document')
    })

    t.test('every method, its params in order and its result', async (t) => {
      t.same(document.methods.map((m: any) => m.name), methodList.map((m) => m.name))
      for (const method of methodList) {
        const described = document.methods.find((m: any) => m.name === method.name)
        t.same(described.params.map((p: any) => [p.name, p.required]),
          argumentNames(method).map((name) => [name, requiredArguments(method).includes(name)]), method.name)
        t.same(described.result.schema, JSON.parse(JSON.stringify(method.result)))
      }
      t.match(document.methods.find((m: any) => m.name === 'create_user').params[5], { name: 'active', required: false, schema: { type: 'boolean', default: true } })
    })

    t.test('the same document at /openrpc.json, pointing at this server', async (t) => {
      const again = await app.inject({ method: 'GET', url: '/openrpc.json', headers: { host: 'rpc.example.org:8080' } })
      t.same(again.json(), document)
      t.same(document.servers, [{ name: 'this server', url: 'http://rpc.example.org:8080/_admin/api' }])
    })
  })
}
