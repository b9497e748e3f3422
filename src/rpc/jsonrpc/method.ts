/**
 * What a JSON-RPC method is: a name, its arguments and result as TypeBox schemas
 * (which drive the argument check and the OpenRPC document), and the call into
 * the domain. Both dialects and the tests call methods through `invoke`.
 */
import type { Static, TObject, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { Actor } from '../../domain/actor.ts'
import type { Domain } from '../../domain/index.ts'
import { validatorOf } from '../../domain/schemas.ts'
import { ProtocolError } from './errors.ts'

/**
 * An older RhodeCode version's names for a method's arguments, as its API document
 * gives them: every name that version sends, and the argument (of `params`) it means.
 */
interface LegacyNames {
  /** The RhodeCode version, e.g. `1.2`. */
  version: string
  names: Readonly<Record<string, string>>
}

/** What a method's `run` learns about the call besides its arguments. */
export interface CallInfo {
  /**
   * The RhodeCode version whose argument names the call used: the newest whose
   * names cover every argument sent, `current` for this server's own names (also
   * when no one version covers them all).
   */
  version: string
}

const currentVersion = 'current'

export interface RpcMethod {
  name: string
  summary: string
  /** The arguments, in the documented order (the order of positional JSON-RPC 2.0 params). */
  params: TObject
  result: TSchema
  /** Older versions' names for the arguments, newest first: accepted in RhodeCode's envelope and named params. */
  legacy?: readonly LegacyNames[]
  run: (domain: Domain, actor: Actor, args: Record<string, unknown>, call: CallInfo) => Promise<unknown>
}

/** Types a method's `run` by its schemas, then files it as a plain RpcMethod. */
export function defineMethod<P extends TObject, R extends TSchema> (method: {
  name: string
  summary: string
  params: P
  result: R
  legacy?: ReadonlyArray<{ version: string, names: Readonly<Record<string, keyof Static<P> & string>> }>
  run: (domain: Domain, actor: Actor, args: Static<P>, call: CallInfo) => Promise<Static<R>>
}): RpcMethod {
  return method as unknown as RpcMethod
}

/**
 * Another name for a method (RhodeCode's documents call some methods by two
 * names): the same arguments, the same call.
 */
export function aliasOf (method: RpcMethod, name: string): RpcMethod {
  return { ...method, name, summary: `The name RhodeCode's documents send for ${method.name}: the same method. ${method.summary}` }
}

export function argumentNames (method: RpcMethod): string[] {
  return Object.keys(method.params.properties)
}

export function requiredArguments (method: RpcMethod): string[] {
  return method.params.required ?? []
}

/** The arguments of a call under the method's own names, the version whose names it used, and the name each was sent as. */
interface ResolvedArguments {
  args: Record<string, unknown>
  version: string
  /** Argument → the name the caller gave it (only where that differs). */
  sentAs: Record<string, string>
}

/**
 * Checks the arguments of a call, in RhodeCode's words: unknown names first, then
 * the first missing one, then each value's type. Older versions' names are
 * renamed to the method's own; errors name arguments as the caller did.
 */
function checkArguments (method: RpcMethod, args: Record<string, unknown>): ResolvedArguments {
  const known = argumentNames(method)
  const legacy = method.legacy ?? []
  const meaning = (name: string): string | undefined =>
    known.includes(name) ? name : legacy.find((version) => Object.hasOwn(version.names, name))?.names[name]
  const unknown = Object.keys(args).filter((name) => meaning(name) === undefined)
  if (unknown.length > 0) {
    throw new ProtocolError('invalid_params',
      `Unknown ${unknown.length === 1 ? 'arg' : 'args'} ${unknown.map((n) => `\`${n}\``).join(', ')} in JSON DATA; ` +
      `${method.name} takes ${known.length === 0 ? 'no args' : known.map((n) => `\`${n}\``).join(', ')}`,
      { unknown })
  }
  // The newest version whose names cover every argument sent; a mix of versions is read with this server's names.
  const sent = Object.keys(args)
  const used = sent.every((name) => known.includes(name))
    ? undefined
    : legacy.find((version) => sent.every((name) => Object.hasOwn(version.names, name)))
  const resolved: Record<string, unknown> = {}
  const sentAs: Record<string, string> = {}
  for (const [name, value] of Object.entries(args)) {
    const argument = meaning(name)!
    if (Object.hasOwn(resolved, argument)) {
      const other = sentAs[argument] ?? argument
      throw new ProtocolError('invalid_params', `Invalid \`${name}\` arg (names the same argument as \`${other}\`) in JSON DATA`,
        { fields: [{ field: name, message: `names the same argument as ${other}` }] })
    }
    resolved[argument] = value
    if (name !== argument) sentAs[argument] = name
  }
  const missing = requiredArguments(method).find((name) => !(name in resolved))
  if (missing !== undefined) {
    // Named as the version the caller writes in names it.
    const asSent = used === undefined ? missing : Object.keys(used.names).find((name) => used.names[name] === missing) ?? missing
    throw new ProtocolError('invalid_params', `Missing non optional \`${asSent}\` arg in JSON DATA`, { missing: asSent })
  }
  const result = { args: resolved, version: used?.version ?? currentVersion, sentAs }
  if (validatorOf(method.params).Check(resolved)) return result
  const fields = Object.entries(resolved)
    .map(([argument, value]) => ({ field: sentAs[argument] ?? argument, message: valueProblem(method.params.properties[argument] as TSchema, value) }))
    .filter((problem): problem is { field: string, message: string } => problem.message !== undefined)
  throw new ProtocolError('invalid_params',
    `Invalid ${fields.map((f) => `\`${f.field}\` arg (${f.message})`).join(', ')} in JSON DATA`,
    { fields })
}

/** What is wrong with one argument's value, or undefined when nothing is. */
function valueProblem (schema: TSchema, value: unknown): string | undefined {
  // A union (an id or a name, a string or null) is judged by the branch of the value's own type.
  const branches = (schema as { anyOf?: TSchema[] }).anyOf
  if (branches !== undefined) {
    if (branches.some((branch) => Value.Check(branch, value))) return undefined
    const fitting = branches.find((branch) => typeFits(branchType(branch), value))
    if (fitting === undefined) return `must be ${branches.map(branchType).join(' or ')}`
    return valueProblem(fitting, value)
  }
  const [error] = Value.Errors(schema, value)
  if (error === undefined) return undefined
  return error.keyword === 'enum' ? `must be one of ${error.params.allowedValues.join(', ')}` : error.message
}

/** A schema's JSON type; an enum's is that of its values. */
function branchType (schema: TSchema): string | undefined {
  const { type, enum: values } = schema as { type?: string, enum?: unknown[] }
  return type ?? (values === undefined || values.length === 0 ? undefined : typeof values[0])
}

function typeFits (type: string | undefined, value: unknown): boolean {
  switch (type) {
    case 'integer': return typeof value === 'number'
    case 'null': return value === null
    case 'array': return Array.isArray(value)
    case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value)
    default: return typeof value === type
  }
}

/** Checks the arguments, then runs the method. Throws ProtocolError, DomainError or an unexpected error. */
export async function invoke (method: RpcMethod, domain: Domain, actor: Actor, args: Record<string, unknown>): Promise<unknown> {
  const { args: resolved, version } = checkArguments(method, args)
  return await method.run(domain, actor, resolved, { version })
}
