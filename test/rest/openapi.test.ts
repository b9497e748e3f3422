import t from 'tap'
import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import YAML from 'yaml'
import { generateOpenapiYaml } from '../../scripts/openapi-document.ts'

const committedPath = new URL('../../openapi.yaml', import.meta.url)

interface Operation { tags?: string[], summary?: string, responses: Record<string, unknown> }

t.test('openapi.yaml is what the routes generate (run `npm run openapi` after changing a route)', async (t) => {
  const committed = await readFile(committedPath, 'utf8')
  const generated = await generateOpenapiYaml()
  t.equal(committed, generated)
})

t.test('the document is valid OpenAPI 3.1 and describes every operation', async (t) => {
  const document = YAML.parse(await readFile(committedPath, 'utf8')) as {
    openapi: string
    paths: Record<string, Record<string, Operation>>
    components: { securitySchemes: Record<string, unknown> }
  }
  await t.resolves(SwaggerParser.validate(structuredClone(document) as unknown as Parameters<typeof SwaggerParser.validate>[0]))
  t.equal(document.openapi, '3.1.0')
  t.same(Object.keys(document.components.securitySchemes).sort(), ['apiKey', 'apiKeyQuery', 'basic', 'bearer'])
  const paths = Object.keys(document.paths)
  for (const path of ['/servers', '/servers/{name}', '/services', '/services/{fullname}', '/users', '/users/{id}',
    '/users/{id}/api-keys', '/groups', '/projects', '/projects/{id}', '/projects/{id}/members/{userId}']) {
    t.ok(paths.includes(path), path)
  }
  t.notOk(paths.some((path) => /xmlrpc|_admin|healthz|readyz|docs/.test(path)), 'no RPC, health or docs routes')
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      t.ok(operation.tags?.length === 1 && operation.summary !== undefined, `${method} ${path} is tagged and summarised`)
      t.ok(Object.keys(operation.responses).some((status) => status.startsWith('2')), `${method} ${path} has a success response`)
      t.ok(operation.responses['400'] !== undefined, `${method} ${path} documents its problems`)
    }
  }
})
