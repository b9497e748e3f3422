/**
 * A service's interface once loaded (src/domain/interfaces/load.ts): one shape,
 * whatever shorthand the document used; the JSON Schema 2020-12 of a job's
 * `inputs` compiled from it, and the check of a submission against that schema.
 * docs/interfaces.md says what the subset is.
 */
import Schema from 'typebox/schema'
import { Invalid, type InvalidField } from '../errors.ts'
import { describeErrors, type SchemaError } from '../schemas.ts'
import { unstorableText, unstorableTextMessage } from '../storable.ts'

export type PrimitiveType = 'string' | 'int' | 'long' | 'float' | 'double' | 'boolean' | 'File'
export const primitiveTypes: readonly PrimitiveType[] = ['string', 'int', 'long', 'float', 'double', 'boolean', 'File']

/** An array's own binding applies to each of its items (CWL: `inputBinding` inside the array type). */
interface ArrayType { type: 'array', items: ValueType, inputBinding?: Binding }
interface EnumType { type: 'enum', symbols: string[] }
/** CWL's type names are kept as CWL writes them: `string`, or an array or enum schema. */
export type ValueType = PrimitiveType | ArrayType | EnumType

/** CWL's CommandLineBinding, in the subset: no expression anywhere, `valueFrom` a literal. */
export interface Binding {
  position?: number
  prefix?: string
  /** `false`: the prefix and the value make one argument (`-x1`). */
  separate?: boolean
  /** Joins an array's items into one argument. */
  itemSeparator?: string
  /** A literal that replaces the value. */
  valueFrom?: string
}

export interface ToolInput {
  id: string
  type: ValueType
  /** `string?`, or a union with `null`: the input may be left out (or sent as null). */
  optional: boolean
  /** Used when the input is left out or null; never a File. */
  default?: unknown
  inputBinding?: Binding
  /** EDAM format IRIs a File input is expected in (for the next increment's checks). */
  format?: string[]
  label?: string
  doc?: string
}

export interface ToolOutput {
  id: string
  /** `stdout` and `stderr`: the program's streams; `File`: what `glob` finds in the working directory. */
  type: 'stdout' | 'stderr' | 'File'
  /** `File[]`: every file the globs find; `File`: exactly one. */
  array: boolean
  optional: boolean
  /** Patterns relative to the working directory, checked when the interface was loaded (checkGlob). */
  glob: string[]
  /** An EDAM format IRI, given to the data items the output becomes. */
  format?: string
  label?: string
  doc?: string
}

export interface Resources { coresMin?: number, coresMax?: number, ramMin?: number, ramMax?: number }

export interface Tool {
  cwlVersion: string
  /** The program and its fixed first arguments: never empty, never from a job's values. */
  baseCommand: string[]
  /** Fixed arguments, each a literal `valueFrom` (a plain string argument is one with position 0). */
  arguments: Binding[]
  inputs: ToolInput[]
  outputs: ToolOutput[]
  /** File names (in the working directory) the streams are written to, when the interface names them. */
  stdout?: string
  stderr?: string
  /** EnvVarRequirement: added to the executor's minimal environment. */
  env: Record<string, string>
  /** ResourceRequirement: cores and RAM (MiB) for the executor. */
  resources: Resources
  label?: string
  doc?: string
}

/** A data item's id, as a path writes it: the 11-digit form or the plain number. */
const dataIdPattern = '^[0-9]{1,11}$'

/** A JSON Schema document (2020-12): plain JSON. */
export type JsonSchema = Record<string, unknown>

const intRange = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 }
const longRange = { minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }

/** The JSON Schema of one value of `type` (never null). */
export function valueSchema (type: ValueType): JsonSchema {
  if (typeof type === 'string') {
    switch (type) {
      case 'string': return { type: 'string' }
      case 'int': return { type: 'integer', ...intRange }
      case 'long': return { type: 'integer', ...longRange }
      case 'float':
      case 'double': return { type: 'number' }
      case 'boolean': return { type: 'boolean' }
      case 'File': return {
        type: 'object',
        properties: { data: { type: 'string', pattern: dataIdPattern, description: 'The id of a data item of the job\'s project.' } },
        required: ['data'],
        additionalProperties: false
      }
    }
  }
  if (type.type === 'enum') return { type: 'string', enum: [...type.symbols] }
  return { type: 'array', items: valueSchema(type.items) }
}

/** `schema`, also accepting null: `type` gains "null" (and `enum` null), so that one failing value is one error. */
function nullable (schema: JsonSchema): JsonSchema {
  const type = schema.type as string
  return { ...schema, type: [type, 'null'], ...(Array.isArray(schema.enum) ? { enum: [...schema.enum as unknown[], null] } : {}) }
}

/** Whether a job must give the input: not optional and without a default. */
function isRequired (input: ToolInput): boolean {
  return !input.optional && input.default === undefined
}

/**
 * The JSON Schema 2020-12 of a job's `inputs`: one property per input, required
 * unless optional or defaulted (those also take null, as CWL does), nothing else.
 */
export function inputSchema (tool: Tool, title?: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  for (const input of tool.inputs) {
    const schema = valueSchema(input.type)
    properties[input.id] = {
      ...(isRequired(input) ? schema : nullable(schema)),
      ...(input.label === undefined ? {} : { title: input.label }),
      ...(input.doc === undefined ? {} : { description: input.doc }),
      ...(input.default === undefined ? {} : { default: input.default })
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...(title === undefined ? {} : { title }),
    type: 'object',
    properties,
    required: tool.inputs.filter(isRequired).map((input) => input.id),
    additionalProperties: false
  }
}

type Validator = ReturnType<typeof Schema.Compile>
interface Validators { whole: Validator, properties: Map<string, Validator> }

/** Each input schema's validators, compiled once: a service's schema is one remembered object. */
const compiled = new WeakMap<JsonSchema, Validators>()

function validatorsOf (schema: JsonSchema): Validators {
  let validators = compiled.get(schema)
  if (validators === undefined) {
    const properties = new Map<string, Validator>()
    for (const [name, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      properties.set(name, Schema.Compile({ $schema: schema.$schema, ...property } as never))
    }
    compiled.set(schema, validators = { whole: Schema.Compile(schema as never), properties })
  }
  return validators
}

/** The File values in an input's value (checked by validateInputs), at any depth of arrays. */
export function filesOf (type: ValueType, value: unknown): Array<{ data: string }> {
  if (value === undefined || value === null) return []
  if (type === 'File') return [value as { data: string }]
  if (typeof type === 'object' && type.type === 'array' && Array.isArray(value)) return value.flatMap((item) => filesOf(type.items, item))
  return []
}

/** A job's inputs once checked: input id → value; a File is `{"data": "<data item id>"}`, an item of the job's project. */
export type JobInputs = Record<string, unknown>

/**
 * Checks a job's `inputs` against the schema `inputSchema` compiled, and returns
 * them; or throws Invalid naming every failing field (`inputs/<id>`, deeper for
 * arrays and files), each input checked on its own, so that every one is named
 * however many fail.
 */
export function validateInputs (schema: JsonSchema, inputs: unknown, resource = 'job'): JobInputs {
  const validators = validatorsOf(schema)
  if (validators.whole.Check(inputs)) {
    const unstorable = unstorableText(inputs)
    if (unstorable.length > 0) throw new Invalid(resource, unstorable.map((field) => ({ field: `inputs/${field}`, message: unstorableTextMessage })))
    return inputs as JobInputs
  }
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw Invalid.field(resource, 'inputs', 'must be an object: input id → value')
  }
  const fields: InvalidField[] = []
  const given = inputs as Record<string, unknown>
  for (const name of schema.required as string[]) {
    if (!Object.hasOwn(given, name)) fields.push({ field: `inputs/${name}`, message: 'is required' })
  }
  for (const [name, value] of Object.entries(given)) {
    const validator = validators.properties.get(name)
    if (validator === undefined) {
      fields.push({ field: `inputs/${name}`, message: 'is not an input of this service' })
      continue
    }
    const [valid, errors] = validator.Errors(value)
    if (valid) continue
    fields.push(...describeErrors((errors as SchemaError[]).map((error) => ({ ...error, instancePath: `/inputs/${name}${error.instancePath}` }))))
  }
  throw new Invalid(resource, fields)
}
