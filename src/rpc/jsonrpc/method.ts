/**
 * What a JSON-RPC method is: a name, its arguments and result as TypeBox schemas
 * (which drive the argument check and the OpenRPC document), and the call into
 * the domain. Both dialects and the tests call methods through `invoke`.
 */
import type { Static, TObject, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { Actor } from '../../domain/actor.ts'
import type { Domain } from '../../domain/index.ts'
import { NotFound } from '../../domain/errors.ts'
import { ProtocolError } from './errors.ts'

export interface RpcMethod {
  name: string
  summary: string
  /** The arguments, in the documented order (the order of positional JSON-RPC 2.0 params). */
  params: TObject
  result: TSchema
  run: (domain: Domain, actor: Actor, args: Record<string, unknown>) => Promise<unknown>
}

/** Types a method's `run` by its schemas, then files it as a plain RpcMethod. */
export function defineMethod<P extends TObject, R extends TSchema> (method: {
  name: string
  summary: string
  params: P
  result: R
  run: (domain: Domain, actor: Actor, args: Static<P>) => Promise<Static<R>>
}): RpcMethod {
  return method as unknown as RpcMethod
}

export function argumentNames (method: RpcMethod): string[] {
  return Object.keys(method.params.properties)
}

export function requiredArguments (method: RpcMethod): string[] {
  return method.params.required ?? []
}

/**
 * Checks the arguments of a call, in RhodeCode's words: unknown names first, then
 * the first missing one, then each value's type.
 */
export function checkArguments (method: RpcMethod, args: Record<string, unknown>): void {
  const known = argumentNames(method)
  const unknown = Object.keys(args).filter((name) => !known.includes(name))
  if (unknown.length > 0) {
    throw new ProtocolError('invalid_params',
      `Unknown ${unknown.length === 1 ? 'arg' : 'args'} ${unknown.map((n) => `\`${n}\``).join(', ')} in JSON DATA; ` +
      `${method.name} takes ${known.length === 0 ? 'no args' : known.map((n) => `\`${n}\``).join(', ')}`,
      { unknown })
  }
  const missing = requiredArguments(method).find((name) => !(name in args))
  if (missing !== undefined) {
    throw new ProtocolError('invalid_params', `Missing non optional \`${missing}\` arg in JSON DATA`, { missing })
  }
  if (Value.Check(method.params, args)) return
  const fields = Object.entries(args)
    .map(([field, value]) => ({ field, message: valueProblem(method.params.properties[field] as TSchema, value) }))
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
    const fitting = branches.find((branch) => typeFits((branch as { type?: string }).type, value))
    if (fitting === undefined) return `must be ${branches.map((branch) => (branch as { type?: string }).type).join(' or ')}`
    return valueProblem(fitting, value)
  }
  const [error] = Value.Errors(schema, value)
  if (error === undefined) return undefined
  return error.keyword === 'enum' ? `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}` : error.message
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
  checkArguments(method, args)
  return await method.run(domain, actor, args)
}

/** The item, or null when it does not exist: RhodeCode's get_* methods answer None rather than an error. */
export async function orNull<T> (lookup: Promise<T>): Promise<T | null> {
  try {
    return await lookup
  } catch (error) {
    if (error instanceof NotFound) return null
    throw error
  }
}

/** Every item of a paged domain listing. */
export async function everything<T> (page: (window: { limit: number, offset: number }) => Promise<{ items: T[], total: number }>): Promise<T[]> {
  const items: T[] = []
  const limit = 1000
  for (;;) {
    const listing = await page({ limit, offset: items.length })
    items.push(...listing.items)
    if (listing.items.length === 0 || items.length >= listing.total) return items
  }
}
