/**
 * src/rest/openapi.ts: the committed openapi.yaml is what the routes generate and
 * valid OpenAPI; a client generated from it (openapi-typescript types +
 * openapi-fetch) drives a real listening server: the document is good enough to use.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import SwaggerParser from '@apidevtools/swagger-parser'
import createClient from 'openapi-fetch'
import YAML from 'yaml'
import { clientTypesPath, generateClientTypes } from '../../scripts/openapi-client.ts'
import { generateOpenapiYaml } from '../../scripts/openapi-document.ts'
import { formatId } from '../../src/rest/common.ts'
import { build } from '../helper.ts'
import { basic, seedUser } from './fixtures.ts'
import type { paths } from './openapi-client.d.ts'

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
  t.notOk(paths.some((path) => /xmlrpc|_admin\/api|healthz|readyz|docs/.test(path)), 'no RPC, health or docs routes')
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      t.ok(operation.tags?.length === 1 && operation.summary !== undefined, `${method} ${path} is tagged and summarised`)
      t.ok(Object.keys(operation.responses).some((status) => status.startsWith('2')), `${method} ${path} has a success response`)
      t.ok(operation.responses['400'] !== undefined, `${method} ${path} documents its problems`)
    }
  }
})

t.test('the committed client types are generated from the committed openapi.yaml (run `npm run openapi`)', async (t) => {
  t.equal(await readFile(clientTypesPath, 'utf8'), await generateClientTypes())
})

t.test('a generated client creates and reads back a server, a service and a project', async (t) => {
  const { app, domain } = await build(t)
  const aliceId = await seedUser(domain, 'alice', { is_admin: true })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const client = createClient<paths>({ baseUrl: `http://127.0.0.1:${port}`, headers: basic('alice') })

  const server = await client.POST('/servers', { body: { name: 'server1', url: 'http://server1.example', active: true } })
  t.equal(server.response.status, 201)
  t.equal(server.response.headers.get('location'), '/servers/server1')

  const project = await client.POST('/projects', { body: { name: 'project1', description: 'made by a generated client' } })
  t.equal(project.response.status, 201)
  t.equal(project.data?.owner, formatId(aliceId))
  const projectId = project.response.headers.get('location')?.split('/').pop() ?? ''

  const service = await client.POST('/services', { body: { name: 'blast', server: 'server1', project: 'project1', type: 'program' } })
  t.equal(service.response.status, 201)

  const servers = await client.GET('/servers', { params: { query: { active: true } } })
  t.same(servers.data?.server1?.services, ['blast'])
  t.equal(servers.response.headers.get('x-total-count'), '1')

  const read = await client.GET('/services/{fullname}', { params: { path: { fullname: 'blast::project1::server1' } } })
  t.same(read.data, {
    name: 'blast', server: 'server1', project: 'project1', type: 'program', exported: false, disabled: false, authorized: true, description: ''
  })

  const readProject = await client.GET('/projects/{id}', { params: { path: { id: projectId } } })
  t.equal(readProject.data?.name, 'project1')
  t.same(readProject.data?.services, ['blast'])

  const refused = await client.POST('/servers', { body: { name: 'server1', url: 'http://again.example' } })
  t.equal(refused.response.status, 409)
  t.equal(refused.error?.status, 409, 'errors come back typed as problem documents')
  t.equal(refused.response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
})
