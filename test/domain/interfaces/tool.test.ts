/**
 * src/domain/interfaces/tool.ts: an interface's inputs as a JSON Schema 2020-12
 * document, and a job's inputs checked against it with every failing field named.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import t from 'tap'
import { Invalid } from '../../../src/domain/errors.ts'
import { loadTool } from '../../../src/domain/interfaces/load.ts'
import { inputSchema, validateInputs } from '../../../src/domain/interfaces/tool.ts'

const sortTool = loadTool({
  cwlVersion: 'v1.2',
  class: 'CommandLineTool',
  baseCommand: 'sort',
  inputs: {
    file: { type: 'File', label: 'Lines', doc: 'The lines to sort.', inputBinding: { position: 1 } },
    reverse: { type: 'boolean?', inputBinding: { prefix: '-r' } },
    key: { type: 'string', default: '1', inputBinding: { prefix: '-k' } },
    parallel: { type: 'int?', inputBinding: { prefix: '--parallel=', separate: false } },
    buffer: { type: 'long', inputBinding: { prefix: '-S' } },
    ratio: { type: 'float?' },
    order: { type: { type: 'enum', symbols: ['asc', 'desc'] } },
    columns: { type: 'int[]?' },
    more: { type: 'File[]' }
  },
  outputs: { sorted: 'stdout' }
})

t.test('the inputs as a JSON Schema 2020-12 document', async (t) => {
  const schema = inputSchema(sortTool, 'The inputs of a job of sort')
  const file = {
    type: 'object',
    properties: { data: { type: 'string', pattern: '^[0-9]{1,11}$', description: "The id of a data item of the job's project." } },
    required: ['data'],
    additionalProperties: false
  }
  t.same(schema, {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'The inputs of a job of sort',
    type: 'object',
    properties: {
      file: { ...file, title: 'Lines', description: 'The lines to sort.' },
      reverse: { type: ['boolean', 'null'] },
      key: { type: ['string', 'null'], default: '1' },
      parallel: { type: ['integer', 'null'], minimum: -(2 ** 31), maximum: 2 ** 31 - 1 },
      buffer: { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      ratio: { type: ['number', 'null'] },
      order: { type: 'string', enum: ['asc', 'desc'] },
      columns: { type: ['array', 'null'], items: { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 } },
      more: { type: 'array', items: file }
    },
    required: ['file', 'buffer', 'order', 'more'],
    additionalProperties: false
  }, 'required: neither optional nor defaulted; optional and defaulted inputs also take null')
  // An independent validator of the same draft agrees that it is a schema, and with its answers.
  const ajv = new Ajv2020({ strict: true })
  const check = ajv.compile(schema)
  t.ok(check({ file: { data: '1' }, buffer: 1024, order: 'asc', more: [] }))
  t.notOk(check({ file: { data: 'x' }, buffer: 1024, order: 'asc', more: [] }))
})

t.test('a job\'s inputs are checked, every failing field named', async (t) => {
  const schema = inputSchema(sortTool)
  const valid = { file: { data: '00000000004' }, buffer: 2 ** 40, order: 'desc', more: [{ data: '5' }], reverse: null, columns: [1, 2] }
  t.equal(validateInputs(schema, valid), valid, 'valid inputs are returned as they are')
  const fields = (inputs: unknown): Array<{ field: string, message: string }> => {
    try {
      validateInputs(schema, inputs)
    } catch (error) {
      if (error instanceof Invalid) return error.fields
      throw error
    }
    return []
  }
  t.same(fields({}), [
    { field: 'inputs/file', message: 'is required' },
    { field: 'inputs/buffer', message: 'is required' },
    { field: 'inputs/order', message: 'is required' },
    { field: 'inputs/more', message: 'is required' }
  ])
  t.same(fields({
    file: { data: '../etc/passwd' },
    reverse: 'yes',
    key: 3,
    parallel: 2 ** 31,
    buffer: 1.5,
    ratio: 'fast',
    order: 'sideways',
    columns: [1, 'two'],
    more: [{ data: '1', path: '/etc/passwd' }],
    colour: 'red'
  }), [
    { field: 'inputs/file/data', message: 'must match pattern "^[0-9]{1,11}$"' },
    { field: 'inputs/reverse', message: 'must be either boolean or null' },
    { field: 'inputs/key', message: 'must be either string or null' },
    { field: 'inputs/parallel', message: 'must be <= 2147483647' },
    { field: 'inputs/buffer', message: 'must be integer' },
    { field: 'inputs/ratio', message: 'must be either number or null' },
    { field: 'inputs/order', message: 'must be one of asc, desc' },
    { field: 'inputs/columns/1', message: 'must be integer' },
    { field: 'inputs/more/0/path', message: 'is not a known property' },
    { field: 'inputs/colour', message: 'is not an input of this service' }
  ], 'ten failing fields, each named (more than one validation run would report)')
  t.same(fields([]), [{ field: 'inputs', message: 'must be an object: input id → value' }])
  t.same(fields(null), [{ field: 'inputs', message: 'must be an object: input id → value' }])
  t.same(fields({ ...valid, key: 'a\u0000b' }), [{ field: 'inputs/key', message: 'must not contain NUL (U+0000) or unpaired surrogate characters' }],
    'a NUL can be no argument of a program')
})
