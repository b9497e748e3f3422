/**
 * Loading a service's interface: a CWL CommandLineTool document (v1.0 to v1.2;
 * JSON, or YAML the face has parsed) checked against the subset this server runs,
 * and brought to one shape (src/domain/interfaces/tool.ts). docs/interfaces.md
 * lists the subset and what is refused.
 *
 * Four steps, each with its own kind of message:
 * 1. CWL's other spellings become one: inputs and outputs given as a map become a
 *    list with their keys as ids (a map value that is not an object is its type),
 *    requirements and hints given as a list become a map keyed by class (CWL's
 *    two forms, as its own loader, schema-salad, reads them); a `baseCommand`
 *    string is a list of one. Namespaced members (`s:author`) are metadata: kept
 *    in the document, ignored here.
 * 2. Features outside the subset are refused by name and place
 *    (`requirements.ShellCommandRequirement: is not supported: …`,
 *    `inputs.x.inputBinding.valueFrom: uses an expression $(…)`), and types are read.
 * 3. What is left is checked against the TypeBox schema of the subset (CwlTool).
 * 4. What the schema cannot say: unique ids, bindings that make sense, defaults of
 *    the input's type, EDAM formats, output globs and stream names that stay in
 *    the working directory.
 */
import Type, { type Static, type TSchema } from 'typebox'
import Schema from 'typebox/schema'
import { Value } from 'typebox/value'
import { Invalid, type InvalidField } from '../errors.ts'
import { describeErrors, validatorOf } from '../schemas.ts'
import { unstorableText, unstorableTextMessage } from '../storable.ts'
import {
  inputSchema, primitiveTypes, valueSchema, type Binding, type JsonSchema, type PrimitiveType, type Resources, type Tool, type ToolInput, type ToolOutput,
  type ValueType
} from './tool.ts'

const resource = 'interface'
const strict = { additionalProperties: false }

const Text = Type.String({ maxLength: 10_000 })
const Documentation = Type.Union([Text, Type.Array(Text, { maxItems: 100 })])
const Metadata = { label: Type.Optional(Text), doc: Type.Optional(Documentation) }
/** Input and output ids: also the names of a job's inputs and the keys of its outputs. */
const Identifier = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' })
/** One argument of the command line. */
const Word = Type.String({ maxLength: 4096 })
/** Above the base command's (CWL puts it at -1000000): a job's value never becomes the program. */
const Position = Type.Integer({ minimum: -999_999, maximum: 999_999 })

const bindingFields = {
  position: Type.Optional(Position),
  prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  separate: Type.Optional(Type.Boolean())
}
const InputBinding = Type.Object({
  ...bindingFields,
  itemSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  valueFrom: Type.Optional(Word)
}, strict)
/** A fixed argument: a literal, or a literal `valueFrom` placed by a binding. */
const ArgumentObject = Type.Object({ ...bindingFields, valueFrom: Word }, strict)
const Argument = Type.Union([Word, ArgumentObject])

const typeShorthand = '^(string|int|long|float|double|boolean|File)(\\[\\])?\\??$'
const EnumSchema = Type.Object({
  type: Type.Literal('enum'),
  symbols: Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { minItems: 1, maxItems: 1000, uniqueItems: true }),
  name: Type.Optional(Text),
  ...Metadata
}, strict)
const arrayFields = { type: Type.Literal('array'), inputBinding: Type.Optional(InputBinding), name: Type.Optional(Text), ...Metadata }
/** An array type as step 2 reads it: its items are read on their own. */
const ArrayShape = Type.Object({ ...arrayFields, items: Type.Unknown() }, strict)
/** An array's items: a plain name (CWL reads no shorthand there), an enum, or an array. */
const ItemType = Type.Cyclic({
  ItemType: Type.Union([
    Type.String({ pattern: `^(${primitiveTypes.join('|')})$` }),
    EnumSchema,
    Type.Object({ ...arrayFields, items: Type.Ref('ItemType') }, strict)
  ])
}, 'ItemType')
const ArrayType = Type.Object({ ...arrayFields, items: ItemType }, strict)
/** An input's type: a name (`string`, `File[]`, `int?`), an enum, an array, or one of those and null (optional). */
const InputType = Type.Union([
  Type.String({ pattern: typeShorthand }),
  EnumSchema,
  ArrayType,
  Type.Array(Type.Union([Type.Literal('null'), Type.String({ pattern: typeShorthand }), EnumSchema, ArrayType]), { minItems: 1, maxItems: 2 })
])

/** An EDAM format IRI, or a prefixed name ($namespaces) standing for one. */
const Format = Type.String({ minLength: 1, maxLength: 1000 })
const InputParameter = Type.Object({
  id: Identifier,
  type: InputType,
  default: Type.Optional(Type.Unknown()),
  format: Type.Optional(Type.Union([Format, Type.Array(Format, { maxItems: 100 })])),
  inputBinding: Type.Optional(InputBinding),
  ...Metadata
}, strict)
const FileShorthand = Type.String({ pattern: '^File(\\[\\])?\\??$' })
const FileArray = Type.Object({ type: Type.Literal('array'), items: Type.Literal('File') }, strict)
const OutputType = Type.Union([
  Type.Enum(['stdout', 'stderr']),
  FileShorthand,
  Type.Array(Type.Union([Type.Literal('null'), FileShorthand, FileArray]), { minItems: 1, maxItems: 2 }),
  FileArray
])
const Glob = Type.String({ minLength: 1, maxLength: 1000 })
const OutputParameter = Type.Object({
  id: Identifier,
  type: OutputType,
  format: Type.Optional(Format),
  outputBinding: Type.Optional(Type.Object({ glob: Type.Union([Glob, Type.Array(Glob, { minItems: 1, maxItems: 100 })]) }, strict)),
  ...Metadata
}, strict)

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/
const EnvValue = Type.String({ maxLength: 10_000 })
const EnvVarRequirement = Type.Object({
  envDef: Type.Union([
    Type.Array(Type.Object({ envName: Type.String({ pattern: envNamePattern.source, maxLength: 200 }), envValue: EnvValue }, strict), { maxItems: 1000 }),
    Type.Record(Type.String({ pattern: envNamePattern.source, maxLength: 200 }), EnvValue)
  ])
}, strict)
/** Cores (fractions allowed, as in v1.2) and RAM in mebibytes; literals only. */
const Amount = Type.Number({ exclusiveMinimum: 0, maximum: 2 ** 31 })
const ResourceRequirement = Type.Object({
  coresMin: Type.Optional(Amount),
  coresMax: Type.Optional(Amount),
  ramMin: Type.Optional(Amount),
  ramMax: Type.Optional(Amount)
}, strict)
/** Requirements (and hints) by class: CWL's map form. */
const Requirements = Type.Object({
  EnvVarRequirement: Type.Optional(EnvVarRequirement),
  ResourceRequirement: Type.Optional(ResourceRequirement)
}, strict)
/** A stream's file name: one name in the working directory. */
const FileName = Type.String({ minLength: 1, maxLength: 200 })

/**
 * The subset of CWL's CommandLineTool this server runs, in the shape step 1 gives
 * (inputs and outputs as lists, requirements as a map by class).
 */
export const CwlTool = Type.Object({
  cwlVersion: Type.Enum(['v1.0', 'v1.1', 'v1.2']),
  class: Type.Literal('CommandLineTool'),
  id: Type.Optional(Text),
  intent: Type.Optional(Type.Array(Text, { maxItems: 100 })),
  $namespaces: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.-]*$' }), Type.String({ maxLength: 1000 }))),
  $schemas: Type.Optional(Type.Array(Text, { maxItems: 100 })),
  baseCommand: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 100 }),
  arguments: Type.Optional(Type.Array(Argument, { maxItems: 1000 })),
  inputs: Type.Array(InputParameter, { maxItems: 1000 }),
  outputs: Type.Array(OutputParameter, { maxItems: 1000 }),
  stdout: Type.Optional(FileName),
  stderr: Type.Optional(FileName),
  requirements: Type.Optional(Requirements),
  hints: Type.Optional(Requirements),
  ...Metadata
}, { ...strict, description: 'A CWL CommandLineTool in the subset this server runs (docs/interfaces.md).' })
type CwlTool = Static<typeof CwlTool>

type Problems = InvalidField[]
type Json = Record<string, unknown>

function isObject (value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A text quoted in a message, cut short. */
function quoted (text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)
}

/**
 * Loads an interface document: the tool in one shape, or Invalid naming every
 * problem found at the first step that finds any (field: where, as a dotted path
 * with inputs and outputs by id).
 */
export function loadTool (document: unknown): Tool {
  if (!isObject(document)) throw Invalid.field(resource, '(document)', 'must be a CWL CommandLineTool: a JSON object (or a YAML mapping)')
  // Before anything walks it: the steps below recurse, and a tool's description is never this deep.
  if (deeperThan(document, maxDepth)) throw Invalid.field(resource, '(document)', `is nested deeper than ${maxDepth} levels`)
  const unstorable = unstorableText(document)
  if (unstorable.length > 0) throw new Invalid(resource, unstorable.map((path) => ({ field: path.replaceAll('/', '.'), message: unstorableTextMessage })))
  const problems: Problems = []
  const raise = (): void => { if (problems.length > 0) throw new Invalid(resource, problems) }
  directives(document, '', problems)
  raise()
  if (document.class === undefined) throw Invalid.field(resource, 'class', 'is required: an interface is a CWL CommandLineTool')
  if (document.class !== 'CommandLineTool') {
    const given = typeof document.class === 'string' ? document.class : JSON.stringify(document.class)
    throw Invalid.field(resource, 'class', `${quoted(given)} is not supported: an interface is one CWL CommandLineTool`)
  }
  const canonical = canonicalize(document, problems)
  raise()
  const types = refusals(canonical, problems)
  raise()
  if (!validatorOf(CwlTool).Check(canonical)) {
    throw new Invalid(resource, describeErrors(Value.Errors(CwlTool, canonical)).map(({ field, message }) => ({
      field: field === '(body)' ? '(document)' : dotted(field.split('/'), canonical), message
    })))
  }
  const tool = normalize(canonical as CwlTool, types, problems)
  raise()
  return tool
}

const maxDepth = 64

/** Whether arrays and objects nest deeper than `limit` in `value`, found without recursing. */
function deeperThan (value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next
    if (node === null || typeof node !== 'object') continue
    if (depth > limit) return true
    for (const item of Object.values(node)) stack.push([item, depth + 1])
  }
  return false
}

/** Schema-salad's directives fetch or splice other documents: an interface is one document. */
const directiveNames = new Set(['$import', '$include', '$mixin', '$graph', '$base'])

function directives (value: unknown, path: string, problems: Problems): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => { directives(item, `${path}[${index}]`, problems) })
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const where = path === '' ? key : `${path}.${key}`
      if (directiveNames.has(key)) problems.push({ field: where, message: 'is not supported: an interface is one self-contained document' })
      else directives(item, where, problems)
    }
  }
}

/** `s:author`, `edam:has_topic`, `http://…`: a namespaced member is metadata, which the loader passes over. */
const namespaced = /^[A-Za-z][A-Za-z0-9+.-]*:/

function withoutMetadata (value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !namespaced.test(key)))
}

/** Step 1: one spelling of everything (see the module's comment). */
function canonicalize (document: Json, problems: Problems): Json {
  const canonical = withoutMetadata(document)
  if (typeof canonical.baseCommand === 'string') canonical.baseCommand = [canonical.baseCommand]
  for (const key of ['inputs', 'outputs']) {
    const value = canonical[key]
    if (Array.isArray(value)) canonical[key] = (value as unknown[]).map((parameter) => isObject(parameter) ? withoutMetadata(parameter) : parameter)
    else if (isObject(value)) {
      // A map value that is not an object is the parameter's type (CWL's mapPredicate).
      canonical[key] = Object.entries(value).map(([id, parameter]) => isObject(parameter) ? { ...withoutMetadata(parameter), id } : { id, type: parameter })
    }
  }
  for (const key of ['requirements', 'hints']) {
    const value = canonical[key]
    if (Array.isArray(value)) {
      const byClass: Json = {}
      value.forEach((entry, index) => {
        if (!isObject(entry) || typeof entry.class !== 'string') {
          problems.push({ field: `${key}[${index}]`, message: 'must be a requirement: an object with a class' })
          return
        }
        const { class: name, ...body } = entry
        if (Object.hasOwn(byClass, name)) problems.push({ field: `${key}.${name}`, message: 'is given twice' })
        byClass[name] = body
      })
      canonical[key] = byClass
    } else if (isObject(value)) {
      canonical[key] = Object.fromEntries(Object.entries(value).map(([name, body]) => {
        if (!isObject(body) || body.class === undefined) return [name, body]
        const { class: _class, ...rest } = body
        return [name, rest]
      }))
    }
  }
  return canonical
}

/** Classes outside the subset, with why when there is more to say than "not supported". */
const requirementRefusals: Record<string, string> = {
  ShellCommandRequirement: 'is not supported: a command line is never passed through a shell',
  InlineJavascriptRequirement: 'is not supported: expressions are not (values and bindings are literals)',
  DockerRequirement: 'is not supported: this server runs programs without containers (until an executor runs containers)',
  SchemaDefRequirement: 'is not supported: named and record types are not',
  InitialWorkDirRequirement: 'is not supported: the working directory holds the job\'s input files only',
  SoftwareRequirement: 'is not supported: the program is found as baseCommand names it'
}
const supportedRequirements = new Set(['EnvVarRequirement', 'ResourceRequirement'])
const topLevelRefusals: Record<string, string> = {
  stdin: 'is not supported: a program\'s standard input is closed',
  successCodes: 'is not supported: a program succeeds when it exits with 0',
  temporaryFailCodes: 'is not supported: a program succeeds when it exits with 0',
  permanentFailCodes: 'is not supported: a program succeeds when it exits with 0'
}
const parameterRefusals = ['secondaryFiles', 'streamable', 'loadContents', 'loadListing']
const bindingRefusals: Record<string, string> = {
  shellQuote: 'is not supported: a command line is never passed through a shell',
  loadContents: 'is not supported: a binding passes a file\'s path, never its contents'
}
const outputBindingRefusals: Record<string, string> = {
  outputEval: 'is not supported: outputs are the files the globs find',
  loadContents: 'is not supported: outputs are the files the globs find',
  loadListing: 'is not supported: outputs are files'
}
/** Where a string is data or prose, never evaluated by CWL: `$(` may appear there. */
const literalMembers = new Set(['default', 'doc', 'label', 'intent', 'id', '$namespaces', '$schemas'])

/** The types read in step 2, by input id, for step 4. */
type ReadTypes = Map<string, { type: ValueType, optional: boolean }>

/** Step 2: features outside the subset, by name and place; the inputs' types. */
function refusals (document: Json, problems: Problems): ReadTypes {
  const types: ReadTypes = new Map()
  if (document.baseCommand === undefined) {
    problems.push({ field: 'baseCommand', message: 'is required: the interface names the program (a tool whose program comes from its arguments or inputs is not supported)' })
  }
  for (const [key, message] of Object.entries(topLevelRefusals)) if (key in document) problems.push({ field: key, message })
  for (const where of ['requirements', 'hints']) {
    const requirements = document[where]
    if (!isObject(requirements)) continue
    for (const [name, body] of Object.entries(requirements)) {
      if (!supportedRequirements.has(name)) {
        problems.push({ field: `${where}.${name}`, message: requirementRefusals[name] ?? 'is not supported (the subset has EnvVarRequirement and ResourceRequirement)' })
      } else if (name === 'ResourceRequirement' && isObject(body)) {
        for (const key of ['tmpdirMin', 'tmpdirMax', 'outdirMin', 'outdirMax']) {
          if (key in body) problems.push({ field: `${where}.${name}.${key}`, message: 'is not supported: the subset asks for cores and RAM' })
        }
      }
    }
  }
  const each = (key: string, visit: (parameter: Json, where: string) => void): void => {
    const list = document[key]
    if (Array.isArray(list)) list.forEach((item, index) => { if (isObject(item)) visit(item, elementPath(key, item, index)) })
  }
  each('inputs', (input, where) => {
    for (const key of parameterRefusals) if (key in input) problems.push({ field: `${where}.${key}`, message: 'is not supported' })
    if (isObject(input.inputBinding)) bindingRefused(input.inputBinding, `${where}.inputBinding`, problems)
    if (input.type === undefined) return
    const type = readInputType(input.type, `${where}.type`, problems)
    if (type !== undefined && typeof input.id === 'string') types.set(input.id, type)
  })
  each('outputs', (output, where) => {
    for (const key of parameterRefusals) if (key in output) problems.push({ field: `${where}.${key}`, message: 'is not supported' })
    if (isObject(output.outputBinding)) {
      for (const [key, message] of Object.entries(outputBindingRefusals)) {
        if (key in output.outputBinding) problems.push({ field: `${where}.outputBinding.${key}`, message })
      }
    }
    if (output.type !== undefined) readOutputType(output.type, `${where}.type`, problems)
  })
  each('arguments', (argument, where) => { bindingRefused(argument, where, problems) })
  expressions(document, '', problems)
  return types
}

function bindingRefused (binding: Json, where: string, problems: Problems): void {
  for (const [key, message] of Object.entries(bindingRefusals)) if (key in binding) problems.push({ field: `${where}.${key}`, message })
}

/** `inputs.reads`, by id when the element has one; `arguments[2]` otherwise. */
function elementPath (key: string, element: unknown, index: number): string {
  const id = isObject(element) ? element.id : undefined
  return (key === 'inputs' || key === 'outputs') && typeof id === 'string' ? `${key}.${id}` : `${key}[${index}]`
}

/** A describeErrors field (`inputs/2/type`) as the loader names places (`inputs.reads.type`). */
function dotted (segments: string[], document: unknown): string {
  let path = ''
  let node: unknown = document
  let parent = ''
  for (const segment of segments) {
    if (Array.isArray(node) && /^[0-9]+$/.test(segment)) {
      const element: unknown = node[Number(segment)]
      path = path === '' ? `[${segment}]` : elementPath(parent, element, Number(segment)).replace(/^[^.[]+/, path)
      node = element
    } else {
      path = path === '' ? segment : `${path}.${segment}`
      node = isObject(node) ? node[segment] : undefined
    }
    parent = segment
  }
  return path
}

/** Expressions, `$(…)` and `${…}`, anywhere CWL could evaluate one: none is evaluated here. */
function expressions (value: unknown, path: string, problems: Problems): void {
  if (typeof value === 'string') {
    const kind = value.includes('${') ? '${...}' : value.includes('$(') ? '$(...)' : undefined
    if (kind !== undefined) problems.push({ field: path, message: `uses an expression ${kind}: expressions are not supported (write a literal)` })
  } else if (Array.isArray(value)) {
    const key = path.split('.').at(-1) ?? ''
    value.forEach((item, index) => { expressions(item, path === key ? elementPath(key, item, index) : `${path}[${index}]`, problems) })
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (!literalMembers.has(key)) expressions(item, path === '' ? key : `${path}.${key}`, problems)
    }
  }
}

const typeRefusals: Record<string, string> = {
  Directory: 'Directory is not supported: inputs are files (data items) and values',
  Any: 'Any is not supported: each input has a type',
  record: 'record types are not supported',
  map: 'map types are not supported',
  stdin: 'stdin is not supported: a program\'s standard input is closed',
  stdout: 'stdout is a type of outputs',
  stderr: 'stderr is a type of outputs'
}
const shorthand = /^([A-Za-z_][A-Za-z0-9_]*)(\[\])?(\?)?$/

/** An input's type (or an array's items, where CWL reads no shorthand), or undefined with the problems said. */
function readInputType (raw: unknown, path: string, problems: Problems, items = false): { type: ValueType, optional: boolean } | undefined {
  const refuse = (message: string, where = path): undefined => { problems.push({ field: where, message }); return undefined }
  if (typeof raw === 'string') {
    const match = shorthand.exec(raw)
    if (match === null) return refuse(`${quoted(raw)} is not a type`)
    if (items && (match[2] !== undefined || match[3] !== undefined)) {
      return refuse(`${quoted(raw)}: CWL reads no shorthand in items (write {"type": "array", "items": "${match[1]}"})`)
    }
    const [, name = '', brackets, question] = match
    if (name === 'null') return refuse('null alone is no type for an input: write string? (or a type and null) for an optional one')
    if (!(primitiveTypes as readonly string[]).includes(name)) {
      return refuse(typeRefusals[name] ?? `${quoted(name)} is not a supported type (string, int, long, float, double, boolean, File, enums and arrays of them)`)
    }
    // One [] at most, as CWL writes it: an array of arrays is {type: array, items: "string[]"}.
    const type: ValueType = brackets === undefined ? name as PrimitiveType : { type: 'array', items: name as PrimitiveType }
    return { type, optional: question === '?' }
  }
  if (Array.isArray(raw)) {
    if (items) return refuse('optional items (null in an array) are not supported')
    const types = raw.filter((type) => type !== 'null')
    if (types.length === 0) return refuse('null alone is no type for an input: write string? (or a type and null) for an optional one')
    if (types.length > 1) return refuse('a union of several types is not supported: a type, or a type and null (an optional input)')
    const inner = readInputType(types[0], path, problems)
    return inner === undefined ? undefined : { type: inner.type, optional: inner.optional || types.length < raw.length }
  }
  if (!isObject(raw)) return refuse('is not a type')
  if (raw.type === 'enum') {
    if ('inputBinding' in raw) return refuse('is not supported on an enum type: put the inputBinding on the input', `${path}.inputBinding`)
    if (!partValid(EnumSchema, raw, path, problems)) return undefined
    return { type: { type: 'enum', symbols: raw.symbols as string[] }, optional: false }
  }
  if (raw.type === 'array') {
    if (isObject(raw.inputBinding)) bindingRefused(raw.inputBinding, `${path}.inputBinding`, problems)
    if (!partValid(ArrayShape, raw, path, problems)) return undefined
    const itemType = readInputType(raw.items, `${path}.items`, problems, true)
    if (itemType === undefined) return undefined
    const inputBinding = raw.inputBinding as Binding | undefined
    return { type: { type: 'array', items: itemType.type, ...(inputBinding === undefined ? {} : { inputBinding }) }, optional: false }
  }
  const name = typeof raw.type === 'string' ? raw.type : ''
  return refuse(typeRefusals[name] ?? `${quoted(name)} is not a supported type (string, int, long, float, double, boolean, File, enums and arrays of them)`, `${path}.type`)
}

/** An output's type: the program's streams, or files. */
function readOutputType (raw: unknown, path: string, problems: Problems): Pick<ToolOutput, 'type' | 'array' | 'optional'> | undefined {
  const refuse = (message: string): undefined => { problems.push({ field: path, message }); return undefined }
  if (raw === 'stdout' || raw === 'stderr') return { type: raw, array: false, optional: false }
  if (Array.isArray(raw)) {
    const types = raw.filter((type) => type !== 'null')
    if (types.length !== 1) return refuse('a union of several types is not supported: File, or File and null')
    const inner = readOutputType(types[0], path, problems)
    if (inner?.type !== 'File') return inner === undefined ? undefined : refuse('stdout and stderr outputs cannot be optional')
    return { ...inner, optional: inner.optional || types.length < raw.length }
  }
  if (isObject(raw) && raw.type === 'array' && raw.items === 'File') return { type: 'File', array: true, optional: false }
  const match = typeof raw === 'string' ? /^File(\[\])?(\?)?$/.exec(raw) : null
  if (match !== null) return { type: 'File', array: match[1] !== undefined, optional: match[2] !== undefined }
  const name = typeof raw === 'string' ? raw.replace(/(\[\])*\??$/, '') : isObject(raw) && typeof raw.type === 'string' ? raw.type : undefined
  if (name === 'Directory') return refuse('Directory outputs are not supported: outputs are files')
  if (name !== undefined && shorthand.test(name)) {
    return refuse(`outputs of type ${quoted(name)} are not supported: an output is a File (outputBinding.glob), stdout or stderr`)
  }
  return refuse('is not an output type (File, File?, File[], stdout, stderr)')
}

/** Checks a part with its own schema, so that its problems are named precisely (a union would not say which branch). */
function partValid (schema: TSchema, value: unknown, path: string, problems: Problems): boolean {
  if (validatorOf(schema).Check(value)) return true
  for (const { field, message } of describeErrors(Value.Errors(schema, value))) {
    problems.push({ field: field === '(body)' ? path : `${path}.${field.replaceAll('/', '.')}`, message })
  }
  return false
}

const edamFormat = /^http:\/\/edamontology\.org\/format_[0-9]{4,6}$/

/** A format as an EDAM IRI: given so, or as a prefixed name its $namespaces expand. */
function formatIri (value: string, namespaces: Record<string, string>, where: string, problems: Problems): string | undefined {
  const colon = value.indexOf(':')
  const prefix = colon > 0 ? value.slice(0, colon) : undefined
  const iri = prefix !== undefined && Object.hasOwn(namespaces, prefix) ? namespaces[prefix] + value.slice(colon + 1) : value
  if (edamFormat.test(iri)) return iri
  problems.push({ field: where, message: `${quoted(value)} is not an EDAM format (http://edamontology.org/format_NNNN, or edam:format_NNNN with $namespaces edam: http://edamontology.org/)` })
  return undefined
}

/**
 * Whether an output glob stays in the working directory: relative, no `..`, none
 * of the characters the glob library and Python's glob (cwltool's) read differently.
 * Undefined when it does; else why not.
 */
export function globProblem (pattern: string): string | undefined {
  if (pattern.startsWith('/')) return 'is an absolute path: outputs are found in the job\'s working directory only'
  if (pattern.startsWith('~')) return 'starts with ~: outputs are found in the job\'s working directory only'
  if (pattern.split('/').includes('..')) return 'climbs out of the working directory (..): outputs are found in it only'
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'holds a control character'
  if (pattern.includes('\\')) return 'holds a backslash, which glob libraries read differently'
  if (pattern.endsWith('/') || pattern === '.') return 'names a directory: outputs are files'
  return undefined
}

/** Why a stream's file name is not one plain name in the working directory, or undefined. */
function fileNameProblem (name: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..' || /[\u0000-\u001f\u007f]/.test(name)) {
    return 'must be one file name in the working directory: no / or \\, no control characters, not . or ..'
  }
  return undefined
}

function text (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('\n') : value
}

function containsFile (type: ValueType): boolean {
  return type === 'File' || (typeof type === 'object' && type.type === 'array' && containsFile(type.items))
}

function isArrayType (type: ValueType): boolean {
  return typeof type === 'object' && type.type === 'array'
}

function bindingProblems (binding: Binding, where: string, problems: Problems): void {
  if (binding.separate === false && binding.prefix === undefined) {
    problems.push({ field: `${where}.separate`, message: 'false needs a prefix to join the value to' })
  }
}

/** An itemSeparator joins the items of an array of values (cwltool would write an array of arrays as Python's list). */
function separatorProblems (binding: Binding, type: ValueType, where: string, problems: Problems): void {
  if (binding.itemSeparator === undefined) return
  if (typeof type !== 'object' || type.type !== 'array') {
    problems.push({ field: `${where}.itemSeparator`, message: 'applies to arrays only' })
  } else if (isArrayType(type.items)) {
    problems.push({ field: `${where}.itemSeparator`, message: 'is not supported on an array of arrays' })
  }
}

/** Step 4: the tool in one shape, and what the schema cannot say. */
function normalize (document: CwlTool, types: ReadTypes, problems: Problems): Tool {
  const namespaces = document.$namespaces ?? {}
  const ids = new Set<string>()
  const unique = (id: string, where: string): void => {
    if (ids.has(id)) problems.push({ field: where, message: `the id ${id} is given twice (inputs and outputs share one set of ids)` })
    ids.add(id)
  }
  const inputs = document.inputs.map((parameter): ToolInput => {
    const where = `inputs.${parameter.id}`
    unique(parameter.id, where)
    const { type, optional } = types.get(parameter.id)!
    const input: ToolInput = { id: parameter.id, type, optional }
    // CWL's null default is no default.
    if (parameter.default !== undefined && parameter.default !== null) {
      if (containsFile(type)) {
        problems.push({ field: `${where}.default`, message: 'is not supported for a File: it would name a file on the server' })
      } else if (!Schema.Check(valueSchema(type) as never, parameter.default)) {
        problems.push({ field: `${where}.default`, message: 'is not a value of the input\'s type' })
      } else input.default = parameter.default
    }
    if (parameter.format !== undefined) {
      if (!containsFile(type)) problems.push({ field: `${where}.format`, message: 'applies to File inputs only' })
      const formats = (Array.isArray(parameter.format) ? parameter.format : [parameter.format])
        .map((format, index) => formatIri(format, namespaces, Array.isArray(parameter.format) ? `${where}.format[${index}]` : `${where}.format`, problems))
      input.format = formats.filter((format) => format !== undefined)
    }
    if (parameter.inputBinding !== undefined) {
      bindingProblems(parameter.inputBinding, `${where}.inputBinding`, problems)
      separatorProblems(parameter.inputBinding, type, `${where}.inputBinding`, problems)
      input.inputBinding = parameter.inputBinding
    }
    for (let inner: ValueType = type, path = `${where}.type`; typeof inner === 'object' && inner.type === 'array'; inner = inner.items, path += '.items') {
      if (inner.inputBinding === undefined) continue
      bindingProblems(inner.inputBinding, `${path}.inputBinding`, problems)
      // The array type's own binding applies to each item.
      separatorProblems(inner.inputBinding, inner.items, `${path}.inputBinding`, problems)
    }
    if (parameter.label !== undefined) input.label = parameter.label
    const doc = text(parameter.doc)
    if (doc !== undefined) input.doc = doc
    return input
  })
  const argumentBindings = (document.arguments ?? []).map((argument, index): Binding => {
    if (typeof argument === 'string') return { valueFrom: argument }
    bindingProblems(argument, `arguments[${index}]`, problems)
    return argument
  })
  const outputs = document.outputs.map((parameter): ToolOutput => {
    const where = `outputs.${parameter.id}`
    unique(parameter.id, where)
    const shape = readOutputType(parameter.type, `${where}.type`, [])!
    const output: ToolOutput = { id: parameter.id, ...shape, glob: [] }
    if (shape.type === 'File') {
      const glob = parameter.outputBinding?.glob
      if (glob === undefined) problems.push({ field: `${where}.outputBinding.glob`, message: 'is required: it says which files of the working directory the output is' })
      output.glob = glob === undefined ? [] : Array.isArray(glob) ? glob : [glob]
      output.glob.forEach((pattern, index) => {
        const problem = globProblem(pattern)
        if (problem !== undefined) problems.push({ field: `${where}.outputBinding.glob${Array.isArray(glob) ? `[${index}]` : ''}`, message: problem })
      })
    } else if (parameter.outputBinding !== undefined) {
      problems.push({ field: `${where}.outputBinding`, message: `is not needed: a ${shape.type} output is the program's ${shape.type}` })
    }
    if (parameter.format !== undefined) output.format = formatIri(parameter.format, namespaces, `${where}.format`, problems)
    if (parameter.label !== undefined) output.label = parameter.label
    const doc = text(parameter.doc)
    if (doc !== undefined) output.doc = doc
    return output
  })
  const streams: Pick<Tool, 'stdout' | 'stderr'> = {}
  for (const stream of ['stdout', 'stderr'] as const) {
    const name = document[stream]
    if (name === undefined) continue
    const problem = fileNameProblem(name)
    if (problem !== undefined) problems.push({ field: stream, message: problem })
    streams[stream] = name
  }
  if (streams.stdout !== undefined && streams.stdout === streams.stderr) {
    problems.push({ field: 'stderr', message: 'is the file stdout is written to' })
  }
  const tool: Tool = {
    cwlVersion: document.cwlVersion,
    baseCommand: document.baseCommand,
    arguments: argumentBindings,
    inputs,
    outputs,
    ...streams,
    env: environment(document, problems),
    resources: resources(document, problems)
  }
  if (document.label !== undefined) tool.label = document.label
  const doc = text(document.doc)
  if (doc !== undefined) tool.doc = doc
  return tool
}

/** EnvVarRequirement's variables: a hint's, then a requirement's (which wins, as in cwltool). */
function environment (document: CwlTool, problems: Problems): Record<string, string> {
  const env: Record<string, string> = {}
  for (const where of ['hints', 'requirements'] as const) {
    const envDef = document[where]?.EnvVarRequirement?.envDef
    if (envDef === undefined) continue
    const pairs = Array.isArray(envDef) ? envDef.map(({ envName, envValue }) => [envName, envValue] as const) : Object.entries(envDef)
    for (const [name, value] of pairs) {
      if (!envNamePattern.test(name)) problems.push({ field: `${where}.EnvVarRequirement.envDef.${name}`, message: 'is not a variable name' })
      env[name] = value
    }
  }
  return env
}

/** ResourceRequirement's cores and RAM: a hint's, then a requirement's. */
function resources (document: CwlTool, problems: Problems): Resources {
  const wanted: Resources = { ...document.hints?.ResourceRequirement, ...document.requirements?.ResourceRequirement }
  for (const [min, max] of [['coresMin', 'coresMax'], ['ramMin', 'ramMax']] as const) {
    const low = wanted[min]
    const high = wanted[max]
    if (low !== undefined && high !== undefined && low > high) {
      problems.push({ field: `requirements.ResourceRequirement.${min}`, message: `is more than ${max}` })
    }
  }
  return wanted
}

/** Interfaces already loaded, by their text: a job's submission finds its program's schema compiled. */
const loaded = new Map<string, { tool: Tool, schema: JsonSchema }>()
const mostLoaded = 256

/**
 * An interface document loaded and its inputs' schema compiled, once per distinct
 * text (a changed interface is another text; the least recently loaded go first).
 */
export function compiledInterface (document: unknown): { tool: Tool, schema: JsonSchema } {
  const text = JSON.stringify(document)
  let found = loaded.get(text)
  if (found === undefined) {
    const tool = loadTool(document)
    found = { tool, schema: inputSchema(tool) }
    if (loaded.size >= mostLoaded) loaded.delete(loaded.keys().next().value!)
  } else {
    loaded.delete(text)
  }
  loaded.set(text, found)
  return found
}
