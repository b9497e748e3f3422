/**
 * The OpenRPC document: valid against the OpenRPC meta-schema, listing every
 * method of the table with its params (in order) and result.
 */
import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { build, databaseKinds } from '../../helper.ts'
import { argumentNames, requiredArguments } from '../../../src/rpc/jsonrpc/method.ts'
import { methodList } from '../../../src/rpc/jsonrpc/methods/index.ts'

// Both packages are CommonJS with the schema as `exports.default`, which an ESM
// default import would wrap once more.
const require = createRequire(import.meta.url)
const openRpcMetaSchema: unknown = require('@open-rpc/meta-schema').default
const jsonSchemaMetaSchema: unknown = require('@json-schema-tools/meta-schema').default

for (const kind of databaseKinds) {
  t.test(kind, async (t) => {
    const { app } = await build(t, { kind })
    const response = await app.inject({ method: 'GET', url: '/_admin/api', headers: { host: 'rpc.example.org:8080' } })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^application\/json/)
    const document = response.json()

    t.test('valid against the OpenRPC meta-schema', async (t) => {
      // Both meta-schemas name their dialect by a URL ajv does not know (they are
      // draft-07); the OpenRPC one refers to the JSON Schema one for every `schema`.
      const withoutDialect = (schema: unknown): Record<string, unknown> => {
        const { $schema: _dialect, ...rest } = schema as Record<string, unknown>
        return rest
      }
      const ajv = new Ajv({ strict: false, allErrors: true })
      addFormats.default(ajv)
      // It refers to the JSON Schema meta-schema both with and without a trailing slash.
      const { $id: jsonSchemaId, ...anonymousJsonSchema } = withoutDialect(jsonSchemaMetaSchema)
      ajv.addSchema({ $id: String(jsonSchemaId), ...anonymousJsonSchema })
      ajv.addSchema(anonymousJsonSchema, String(jsonSchemaId).replace(/\/$/, ''))
      const schema = withoutDialect(openRpcMetaSchema)
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

    t.test('docs/jsonrpc.md lists every method', async (t) => {
      const docs = await readFile(new URL('../../../docs/jsonrpc.md', import.meta.url), 'utf8')
      for (const method of methodList) t.match(docs, `\n| \`${method.name}\` |`, method.name)
    })

    t.test('older RhodeCode names of params are described', async (t) => {
      const described = document.methods.find((m: any) => m.name === 'add_user_to_users_group')
      t.equal(described.description, 'Also accepts older names for its params (by name only): ' +
        'RhodeCode 1.3: group_name (usersgroupid), username (userid); RhodeCode 1.2: group_name (usersgroupid), user_name (userid).')
      t.same(described.params.map((p: any) => p.name), ['usersgroupid', 'userid'], 'positional params keep the current names only')
      t.same(document.methods.filter((m: any) => m.name === 'add_user_users_group').length, 1)
    })
  })
}
