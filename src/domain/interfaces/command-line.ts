/**
 * The command line of a job: an argv (never a shell string), built from a loaded
 * tool and a job's checked inputs by CWL's binding rules, as the reference
 * implementation, cwltool, applies them (cwltool/builder.py `bind_input` and
 * `generate_arg`, cwltool/process.py `_init_job`); test/cwltool.test.ts compares
 * the two where cwltool is installed.
 *
 * - Every binding gets a sort key: the base command `[-1000000, i]`, the i-th
 *   argument `[position, i]`, an input `[position, id]`, an array's items the key
 *   of the array's binding followed by `[index, position, id]`. Keys compare item by
 *   item, numbers as numbers, a number and a text as texts (Python 2's order, which
 *   cwltool keeps); a shorter key that is a prefix comes first.
 * - An input left out (or null) takes its default; without one it adds nothing.
 * - `prefix` and the value are two arguments, or one (`separate: false`); `true`
 *   adds the prefix alone, `false` nothing; an array is its items joined by
 *   `itemSeparator` as one value, or the prefix followed by each item (each bound
 *   by the array type's own inputBinding when it has one).
 * - A File is the name it was staged under (`fileNames`); numbers are written as
 *   cwltool writes them (Python's `str()`, pythonNumber), and so are booleans
 *   inside arrays (`True`).
 * A value is always one element: `--help` or `; rm -rf ~` stays one argument.
 */
import type { Binding, JobInputs, Tool, ValueType } from './tool.ts'

type Key = Array<number | string>

/** A binding as cwltool carries it: its position may already be a whole key (an array's, copied to its items). */
interface BindingSpec extends Omit<Binding, 'position'> { position?: number | Key }

/** What bind_input walks: a type and the binding that applies to a value of it. */
interface Node { type: ValueType | 'array' | 'enum', items?: ValueType, inputBinding?: BindingSpec }

interface Bound { key: Key, spec: BindingSpec, datum: unknown }

const baseCommandPosition = -1_000_000

/**
 * The argv of a job: `inputs` checked against the tool's input schema
 * (validateInputs), `fileNames` the path each File input's data item was staged
 * under, by data item id.
 */
export function commandLine (tool: Tool, inputs: JobInputs, fileNames: ReadonlyMap<number, string>): string[] {
  const bindings: Bound[] = []
  for (const input of tool.inputs) {
    const value = inputs[input.id] ?? input.default
    if (value === undefined || value === null) continue
    bindings.push(...bind({ type: input.type, inputBinding: input.inputBinding }, value, [], [input.id]))
  }
  tool.baseCommand.forEach((word, index) => { bindings.push({ key: [baseCommandPosition, index], spec: {}, datum: word }) })
  tool.arguments.forEach((argument, index) => { bindings.push({ key: [argument.position ?? 0, index], spec: argument, datum: undefined }) })
  // Array.prototype.sort is stable, as Python's sorted is: equal keys keep their order.
  bindings.sort((a, b) => compareKeys(a.key, b.key))
  return bindings.flatMap((binding) => argumentsOf(binding, fileNames))
}

/** cwltool's bind_input over the subset's types: the bindings of one value, with their keys. */
function bind (node: Node, datum: unknown, lead: Key, tail: Key): Bound[] {
  const bindings: Bound[] = []
  let binding: Bound | undefined
  if (node.inputBinding !== undefined) {
    const position = node.inputBinding.position
    binding = { key: [...lead, ...(position === undefined ? [0] : Array.isArray(position) ? position : [position]), ...tail], spec: node.inputBinding, datum }
  }
  if (typeof node.type === 'object') {
    // The type is itself a schema (an array or an enum); an array type under a binding without
    // itemSeparator gets an empty binding of its own, so that its items are bound.
    const inner: Node = { ...node.type }
    if (binding !== undefined && inner.type === 'array' && inner.inputBinding === undefined && node.inputBinding?.itemSeparator === undefined) {
      inner.inputBinding = {}
    }
    bindings.push(...bind(inner, datum, lead, tail))
  } else if (node.type === 'array') {
    (datum as unknown[]).forEach((item, index) => {
      const copy: BindingSpec | undefined = binding === undefined ? undefined : { ...binding.spec, position: binding.key }
      bindings.push(...bind({ type: node.items!, inputBinding: copy }, item, [index], tail))
    })
    binding = undefined
  }
  if (binding !== undefined) {
    for (const inner of bindings) inner.key = [...binding.key, ...inner.key]
    bindings.push(binding)
  }
  return bindings
}

/** cwltool's cmp_like_py2. */
function compareKeys (a: Key, b: Key): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const i = a[index]
    const j = b[index]
    if (i === j) continue
    if (i === undefined) return -1
    if (j === undefined) return 1
    if (typeof i === 'string' || typeof j === 'string') return String(i) > String(j) ? 1 : -1
    return i > j ? 1 : -1
  }
  return 0
}

/** cwltool's generate_arg: the arguments one binding adds. */
function argumentsOf (bound: Bound, fileNames: ReadonlyMap<number, string>): string[] {
  const { spec } = bound
  const value = spec.valueFrom ?? bound.datum
  const { prefix } = spec
  const separate = spec.separate ?? true
  let values: unknown[]
  if (Array.isArray(value)) {
    if (spec.itemSeparator !== undefined && value.length > 0) {
      values = [value.map((item) => text(item, fileNames)).join(spec.itemSeparator)]
    } else return prefix !== undefined && value.length > 0 ? [prefix] : []
  } else if (isFile(value)) {
    values = [value]
  } else if (value === true) {
    return prefix === undefined ? [] : [prefix]
  } else if (value === false || value === undefined || value === null) {
    return []
  } else values = [value]
  return values.flatMap((item) => separate
    ? [...(prefix === undefined ? [] : [prefix]), text(item, fileNames)]
    : [(prefix ?? '') + text(item, fileNames)])
}

function isFile (value: unknown): value is { data: string } {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A value as one argument: cwltool's tostr, which is Python's str(). */
function text (value: unknown, fileNames: ReadonlyMap<number, string>): string {
  if (isFile(value)) {
    const name = fileNames.get(Number(value.data))
    if (name === undefined) throw new Error(`no staged file for data item ${value.data}`)
    return name
  }
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (typeof value === 'number') return pythonNumber(value)
  return String(value)
}

/**
 * A number as cwltool writes the same number read from this server's JSON: JSON
 * does not say whether 2 was 2 or 2.0, and JavaScript writes whole numbers without a
 * fraction (and without an exponent below 10^21), which Python reads as an int and
 * writes back alike; a fraction is a Python float, written positionally from 10^-4 on
 * and as `1e-05` below.
 */
export function pythonNumber (value: number): string {
  if (Number.isInteger(value)) return String(value)
  const [mantissa = '', exponent = '0'] = value.toExponential().split('e')
  const power = Number(exponent)
  if (power >= -4) return String(value)
  return `${mantissa}e-${String(-power).padStart(2, '0')}`
}
