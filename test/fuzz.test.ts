/**
 * Generated hostile values (fast-check) for every operation of openapi.yaml and
 * every method of the XML-RPC and JSON-RPC tables, sent over HTTP to a listening
 * server: wrong types, huge and negative numbers, long and control-character
 * strings, unknown members, nested structures. No answer may be a 5xx, a -32603
 * or an "Internal server error", and the server still answers /healthz after.
 *
 * Bounded in time (FUZZ_SECONDS per face and database, default 5: each run draws a new seed, and a longer hunt sets more). A failure
 * prints its seed; replay it with FUZZ_SEED=<seed>.
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import fc from 'fast-check'
import { parse } from 'yaml'
import { methodList } from '../src/rpc/jsonrpc/methods/index.ts'
import { argumentNames } from '../src/rpc/jsonrpc/method.ts'
import { encodeValue, type Renderable } from '../src/rpc/xmlrpc/codec.ts'
import { verbNames } from '../src/rpc/xmlrpc/verbs.ts'
import { systemActor } from '../src/domain/index.ts'
import { databaseKinds } from './helper.ts'
import { basic } from './fixtures.ts'
import { world } from './rpc/jsonrpc/fixture.ts'

const seconds = Number(process.env.FUZZ_SECONDS ?? 5)
const seed = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED)

/** Text a careless or hostile client sends: control characters, NUL, lone surrogates, digits past any column. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '0', '-1', '1e300', '2147483648', '99999999999999999999', 'NaN', 'null', 'admin', 'genomics', 'pasteur',
    'blast::pasteur', 'assembly::genomics::pasteur', 'a\u0000b', 'a\ud800b', '../../etc/passwd', '%00', '<x>', '{"a":1}'),
  fc.string({ minLength: 5000, maxLength: 6000 })
)
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -(2 ** 63), 1e300, 0.5),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    hostileString, hostileNumber, fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }))
})).value

/** An object with the schema's own member names (and perhaps one unknown), each given a hostile value. */
function membersOf (names: string[]): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.fromEntries(names.map((name) => [name, hostileJson]))
  return fc.tuple(fc.record(known, { requiredKeys: [] }), fc.option(fc.dictionary(fc.string({ maxLength: 8 }), hostileJson, { maxKeys: 2 })))
    .map(([members, extra]) => ({ ...(extra ?? {}), ...members }))
}

interface Operation { method: string, path: string, query: string[], body: string[] | null }

async function openapiOperations (): Promise<Operation[]> {
  const document = parse(await readFile('openapi.yaml', 'utf8')) as {
    paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string }>, requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>, $ref?: string } }> } }>>
    components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> }
  }
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
      let schema = operation.requestBody?.content['application/json']?.schema
      if (schema?.$ref !== undefined) schema = document.components?.schemas?.[schema.$ref.split('/').pop()!]
      operations.push({
        method: method.toUpperCase(),
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: schema === undefined ? null : Object.keys(schema.properties ?? {})
      })
    }
  }
  return operations
}

const asText = (value: unknown): string => typeof value === 'string' ? value : JSON.stringify(value) ?? 'null'
/** A URL cannot carry an unpaired surrogate at all (encodeURIComponent throws): send U+FFFD, as a browser would. */
const pathSegment = (text: string): string => encodeURIComponent(text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))

/** An XML-RPC value with no NUL: XML cannot carry one at all, the codec replaces what it cannot. */
const xmlrpcValue: fc.Arbitrary<Renderable> = fc.letrec<{ value: Renderable }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    hostileString, fc.integer(), fc.constantFrom(2 ** 31, -(2 ** 63), 0.5, 1e300), fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }))
})).value
/** Roundup's arguments: class names, designators (the seeded world's, and one past the columns), "prop=value" strings, or anything at all. */
const roundupArgumentFor = (designators: string[]): fc.Arbitrary<Renderable> => fc.oneof(
  fc.constantFrom('server', 'service', 'user', 'group', 'project', 'apikey', 'job', 'data', 'user2147483648', ...designators),
  fc.tuple(fc.constantFrom('name', 'username', 'url', 'owner', 'managers', 'members', 'description', 'is_admin', 'server', 'project', 'type', 'status', 'label'), hostileString)
    .map(([name, value]) => `${name}=${value}`),
  xmlrpcValue
)

for (const kind of databaseKinds) {
  t.test(`${kind}: generated hostile values on every face`, async (t) => {
    const w = await world(t, kind)
    const roundupArgument = roundupArgumentFor([
      `user${w.ids.admin}`, `user${w.ids.outsider}`, `project${w.projectId}`, `project${w.otherProjectId}`, `group${w.groupId}`, `job${w.jobId}`, `data${w.dataId}`,
      `server${(await w.domain.servers.get(systemActor, 'pasteur')).id}`
    ])
    const base = await w.app.listen({ host: '127.0.0.1', port: 0 })
    const headers = { 'x-api-key': w.keys.admin }
    t.comment(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed}), ${seconds} s per face`)
    const sent = { rest: 0, jsonrpc: 0, xmlrpc: 0 }
    const budget = { seed, interruptAfterTimeLimit: seconds * 1000, numRuns: 1_000_000, markInterruptAsFailure: false }

    const operations = await openapiOperations()
    t.ok(operations.length > 30, `${operations.length} REST operations`)
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...operations).chain((operation) => fc.record({
        operation: fc.constant(operation),
        params: fc.array(hostileString, { minLength: 3, maxLength: 3 }),
        query: fc.record(Object.fromEntries(operation.query.map((name) => [name, hostileJson])), { requiredKeys: [] }),
        body: operation.body === null ? fc.constant(undefined) : fc.oneof(membersOf(operation.body), hostileJson),
        anonymous: fc.boolean()
      })),
      async ({ operation, params, query, body, anonymous }) => {
        let index = 0
        const path = operation.path.replace(/\{[^}]+\}/g, () => pathSegment(params[index++] ?? ''))
        const url = new URL(path, base)
        for (const [name, value] of Object.entries(query)) url.searchParams.set(name, asText(value))
        sent.rest++
        const response = await fetch(url, {
          method: operation.method,
          headers: { ...(anonymous ? {} : headers), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body)
        })
        const text = await response.text()
        // 502 is a sync's answer when the peer cannot be used: the request was fine, the peer was not.
        const peerFailed = response.status === 502 && /could not sync server/.test(text)
        if ((response.status >= 500 && !peerFailed) || /Internal server error/i.test(text)) {
          throw new Error(`${operation.method} ${url.pathname}${url.search} ${JSON.stringify(body)?.slice(0, 500) ?? ''} → ${response.status} ${text.slice(0, 300)}`)
        }
      }), budget)

    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...methodList).chain((method) => fc.record({
        method: fc.constant(method.name),
        args: fc.oneof(membersOf(argumentNames(method)), hostileJson)
      })),
      async ({ method, args }) => {
        sent.jsonrpc++
        const response = await fetch(new URL('/_admin/api', base), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 1, api_key: w.keys.admin, method, args })
        })
        const text = await response.text()
        if (response.status >= 500 || /-32603|Internal server error/i.test(text)) {
          throw new Error(`JSON-RPC ${method} ${JSON.stringify(args).slice(0, 500)} → ${response.status} ${text.slice(0, 300)}`)
        }
      }), budget)

    const { authorization } = basic('admin')
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...verbNames), fc.array(roundupArgument, { maxLength: 4 }),
      async (verb, params) => {
        const xml = `<?xml version="1.0"?><methodCall><methodName>${verb}</methodName><params>${params.map((p) => `<param>${encodeValue(p)}</param>`).join('')}</params></methodCall>`
        sent.xmlrpc++
        const response = await fetch(new URL('/xmlrpc', base), { method: 'POST', headers: { 'content-type': 'text/xml', authorization }, body: xml })
        const text = await response.text()
        if (response.status >= 500 || /<int>-32603<\/int>|internal error/i.test(text)) {
          throw new Error(`XML-RPC ${verb}(${JSON.stringify(params).slice(0, 500)}) → ${response.status} ${text.slice(0, 300)}`)
        }
      }), budget)

    t.comment(`requests sent: ${JSON.stringify(sent)}`)
    t.equal((await fetch(new URL('/healthz', base))).status, 200, 'the server still answers')
  })
}
