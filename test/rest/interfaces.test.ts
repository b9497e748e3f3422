/**
 * `/services/{fullname}/interface` and `/services/{fullname}/schema` over HTTP, on
 * each database: administrators set and remove a program's interface (JSON or
 * YAML), whoever can see the service reads it and its jobs' input schema, and
 * everyone else is told what the project's conventions tell them.
 */
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { databaseKinds } from '../helper.ts'
import { seededApp } from '../fixtures.ts'
import { basic, problemOf } from './fixtures.ts'

const sortInterface = {
  cwlVersion: 'v1.2',
  class: 'CommandLineTool',
  label: 'sort',
  baseCommand: 'sort',
  inputs: {
    reverse: { type: 'boolean?', inputBinding: { prefix: '-r' } },
    file: { type: 'File', format: 'edam:format_2330', inputBinding: { position: 1 } }
  },
  outputs: { sorted: { type: 'stdout', format: 'edam:format_2330' } },
  stdout: 'sorted.txt',
  $namespaces: { edam: 'http://edamontology.org/' }
}

const sortYaml = `# sort, as an administrator writes it
cwlVersion: v1.2
class: CommandLineTool
label: sort
baseCommand: sort
inputs:
  reverse:
    type: boolean?
    inputBinding: {prefix: -r}
  file:
    type: File
    format: edam:format_2330
    inputBinding: {position: 1}
outputs:
  sorted:
    type: stdout
    format: edam:format_2330
stdout: sorted.txt
$namespaces: {edam: 'http://edamontology.org/'}
`

const sortSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'The inputs of a job of blast::pasteur',
  type: 'object',
  properties: {
    reverse: { type: ['boolean', 'null'] },
    file: {
      type: 'object',
      properties: { data: { type: 'string', pattern: '^[0-9]{1,11}$', description: "The id of a data item of the job's project." } },
      required: ['data'],
      additionalProperties: false
    }
  },
  required: ['file'],
  additionalProperties: false
}

function schema0 (response: { json: () => { properties: object } }): object {
  return response.json().properties
}

for (const kind of databaseKinds) {
  t.test(`${kind}: a program's interface`, async (t) => {
    const { app, domain } = await seededApp(t, kind)
    // The seeded world's blast runs echo: these tests start from a program without an interface.
    await domain.services.removeInterface(systemActor, 'blast::pasteur')
    const admin = basic('admin')
    const url = '/services/blast::pasteur/interface'
    const json = { ...admin, 'content-type': 'application/json' }

    t.test('administrators set it as JSON; anyone who sees the service reads it and its schema', async (t) => {
      problemOf(await app.inject({ url }), 404)
      const created = await app.inject({ method: 'PUT', url, headers: json, payload: sortInterface })
      t.equal(created.statusCode, 201, 'set where there was none: 201')
      t.equal(created.headers.location, url)
      t.same(created.json(), sortInterface, 'the interface as it was sent')
      const replaced = await app.inject({ method: 'PUT', url, headers: json, payload: { ...sortInterface, label: 'sort lines' } })
      t.equal(replaced.statusCode, 200, 'replaced: 200')
      t.equal(replaced.headers.location, undefined)

      const read = await app.inject({ url })
      t.equal(read.statusCode, 200, 'anonymous callers read a server-level program\'s interface')
      t.same(read.json(), { ...sortInterface, label: 'sort lines' })
      t.equal(read.body, JSON.stringify({ ...sortInterface, label: 'sort lines' }), 'as it was sent, its members in their order')
      t.same(Object.keys(schema0(await app.inject({ url: '/services/blast::pasteur/schema' }))), ['reverse', 'file'], 'the schema lists the inputs in that order')
      t.equal((await app.inject({ url, headers: { 'if-none-match': read.headers.etag } })).statusCode, 304, 'with an ETag')
      const schema = await app.inject({ url: '/services/blast::pasteur/schema', headers: basic('outsider') })
      t.equal(schema.statusCode, 200)
      t.same(schema.json(), sortSchema)

      t.equal((await app.inject({ url: '/services/blast::pasteur' })).json().interface, url, 'the service says where its interface is')
      const listed = (await app.inject({ url: '/services?server=pasteur', headers: admin })).json()
      t.equal(listed['blast::pasteur'].interface, url)
      t.notOk('interface' in listed['clustalw::pasteur'], 'a service without one has no interface member')
    })

    t.test('YAML where the content type says so', async (t) => {
      for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml; charset=utf-8']) {
        const set = await app.inject({ method: 'PUT', url, headers: { ...admin, 'content-type': type }, payload: sortYaml })
        t.equal(set.statusCode, 200, type)
        t.same(set.json(), sortInterface, `${type}: kept as its JSON`)
      }
      t.same((await app.inject({ url })).json(), sortInterface)
      const yaml = (payload: string): Promise<Awaited<ReturnType<typeof app.inject>>> =>
        app.inject({ method: 'PUT', url, headers: { ...admin, 'content-type': 'application/yaml' }, payload })
      const malformed = problemOf(await yaml('cwlVersion: v1.2\ninputs: [a, b\n'), 400)
      t.match(malformed.detail, /is not valid YAML/)
      t.same(malformed.errors?.map((e) => e.field), ['(body)'])
      t.match(problemOf(await yaml('a: 1\na: 2\n'), 400).detail, /not valid YAML: .*unique/i, 'keys are unique')
      t.match(problemOf(await yaml('--- {a: 1}\n--- {b: 2}\n'), 400).detail, /not valid YAML/, 'one document')
      t.match(problemOf(await yaml(`a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [*${i === 0 ? 'a' : `b${i - 1}`}, *${i === 0 ? 'a' : `b${i - 1}`}, *${i === 0 ? 'a' : `b${i - 1}`}]`).join('\n')}\n`), 400).detail,
        /not valid YAML/, 'aliases are bounded (no billion laughs)')
      t.match(problemOf(await yaml('cwlVersion: v1.2\nx: .inf\n'), 400).detail, /\.inf or \.nan/)
      t.match(problemOf(await yaml('- cwlVersion: v1.2\n'), 400).detail, /invalid body/, 'a list is no interface')
      const nested = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
      problemOf(await yaml(`cwlVersion: v1.2\nclass: CommandLineTool\ndoc: ${nested}\n`), 400)
      t.match(problemOf(await app.inject({ method: 'PUT', url, headers: json, payload: `{"cwlVersion": "v1.2", "doc": ${nested}}` }), 400).detail,
        /nested deeper than 64 levels/, 'nesting is bounded before anything recurses')
      t.match(problemOf(await yaml('cwlVersion: v1.2\nclass: !!binary aGVsbG8=\n'), 400).detail, /not valid YAML: Unresolved tag/, 'YAML 1.2 core: no other tags')
      t.match(problemOf(await yaml('cwlVersion: v1.2\nclass: !python/object x\n'), 400).detail, /not valid YAML: Unresolved tag/)
    })

    t.test('malformed JSON is a 400, other bodies a 415; YAML is this route\'s alone', async (t) => {
      t.match(problemOf(await app.inject({ method: 'PUT', url, headers: json, payload: '{"cwlVersion": ' }), 400).detail, /not valid JSON/)
      problemOf(await app.inject({ method: 'PUT', url, headers: { ...admin, 'content-type': 'text/plain' }, payload: 'cwlVersion: v1.2' }), 415)
      problemOf(await app.inject({ method: 'PUT', url, headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' }), 415)
      problemOf(await app.inject({
        method: 'POST', url: '/services', headers: { ...admin, 'content-type': 'application/yaml' }, payload: 'name: x\ntype: program\n'
      }), 415)
    })

    t.test('what is outside the subset is refused by name', async (t) => {
      const problem = problemOf(await app.inject({
        method: 'PUT',
        url,
        headers: json,
        payload: {
          ...sortInterface,
          requirements: [{ class: 'ShellCommandRequirement' }, { class: 'DockerRequirement', dockerPull: 'debian' }],
          inputs: { x: { type: 'string', inputBinding: { valueFrom: '$(self)' } } }
        }
      }), 400)
      t.same(problem.errors?.map((e) => e.field), [
        'requirements.ShellCommandRequirement', 'requirements.DockerRequirement', 'inputs.x.inputBinding.valueFrom'
      ])
      t.match(problem.detail, /ShellCommandRequirement: is not supported/)
      const glob = problemOf(await app.inject({
        method: 'PUT', url, headers: json, payload: { ...sortInterface, outputs: { o: { type: 'File', outputBinding: { glob: '../../etc/*' } } } }
      }), 400)
      t.same(glob.errors, [{ field: 'outputs.o.outputBinding.glob', message: 'climbs out of the working directory (..): outputs are found in it only' }])
      t.same((await app.inject({ url })).json(), sortInterface, 'a refused interface leaves the one set')
    })

    t.test('administrators only: others are told 401, 403, or 404 for what they cannot see', async (t) => {
      problemOf(await app.inject({ method: 'PUT', url, headers: { 'content-type': 'application/json' }, payload: sortInterface }), 401)
      problemOf(await app.inject({ method: 'PUT', url, headers: { ...basic('owner'), 'content-type': 'application/json' }, payload: sortInterface }), 403)
      problemOf(await app.inject({ method: 'DELETE', url, headers: basic('manager') }), 403)
      const shared = '/services/shared::genomics::pasteur/interface'
      const refused = problemOf(await app.inject({ method: 'PUT', url: shared, headers: { ...basic('owner'), 'content-type': 'application/json' }, payload: sortInterface }), 403)
      t.match(refused.detail, /setting an interface is for administrators/, "even a project's owner, for a program of the project")
      const suspended = problemOf(await app.inject({ method: 'PUT', url: shared, headers: { ...basic('suspended'), 'content-type': 'application/json' }, payload: sortInterface }), 403)
      t.equal(suspended.account_status, 'suspended')

      const hidden = '/services/hidden::private::pasteur/interface'
      problemOf(await app.inject({ method: 'PUT', url: hidden, headers: { ...basic('watcher'), 'content-type': 'application/json' }, payload: sortInterface }), 404)
      problemOf(await app.inject({ method: 'PUT', url: '/services/nothing::pasteur/interface', headers: { ...basic('watcher'), 'content-type': 'application/json' }, payload: sortInterface }), 404)
      t.equal((await app.inject({ method: 'PUT', url: hidden, headers: json, payload: sortInterface })).statusCode, 201, 'administrators see every service')
      t.equal((await app.inject({ url: hidden, headers: basic('outsider') })).statusCode, 200, 'its project\'s members read it')
      t.equal((await app.inject({ url: '/services/hidden::private::pasteur/schema', headers: basic('outsider') })).statusCode, 200)
      for (const path of [hidden, '/services/hidden::private::pasteur/schema']) {
        const hiddenProblem = problemOf(await app.inject({ url: path, headers: basic('watcher') }), 404)
        const missing = problemOf(await app.inject({ url: path.replace('hidden', 'nothing'), headers: basic('watcher') }), 404)
        t.equal(hiddenProblem.detail.replace('hidden', 'X'), missing.detail.replace('nothing', 'X'), `${path}: hidden as if it did not exist`)
      }
      problemOf(await app.inject({ method: 'DELETE', url: hidden, headers: basic('watcher') }), 404)
      problemOf(await app.inject({ url: hidden }), 404)
    })

    t.test('only a program carries one', async (t) => {
      for (const service of ['assembly::genomics::pasteur', 'legacy::inactive']) {
        const problem = problemOf(await app.inject({ method: 'PUT', url: `/services/${service}/interface`, headers: json, payload: sortInterface }), 400)
        t.match(problem.detail, new RegExp(`only a program carries an interface: ${service} is a (workflow|widget)`))
      }
      const patched = problemOf(await app.inject({ method: 'PATCH', url: '/services/blast::pasteur', headers: admin, payload: { type: 'widget' } }), 409)
      t.match(patched.detail, /has an interface, which only a program carries: an administrator removes it first \(DELETE \/services\/blast::pasteur\/interface\)/)
      t.equal((await app.inject({ url: '/services/blast::pasteur', headers: admin })).json().type, 'program', 'the type is kept')
      t.equal((await app.inject({ method: 'PATCH', url: '/services/blast::pasteur', headers: admin, payload: { description: 'BLAST' } })).statusCode, 200,
        'other changes are made')
    })

    t.test('administrators remove it', async (t) => {
      t.equal((await app.inject({ method: 'DELETE', url, headers: admin })).statusCode, 204)
      t.match(problemOf(await app.inject({ url }), 404).detail, /no such interface of service blast::pasteur/)
      problemOf(await app.inject({ url: '/services/blast::pasteur/schema' }), 404)
      problemOf(await app.inject({ method: 'DELETE', url, headers: admin }), 404)
      t.notOk('interface' in (await app.inject({ url: '/services/blast::pasteur' })).json(), 'the service no longer points to one')
      t.equal((await app.inject({ method: 'PATCH', url: '/services/blast::pasteur', headers: admin, payload: { type: 'widget' } })).statusCode, 200,
        'without one, the type may change')
    })
  })
}
