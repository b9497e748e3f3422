/**
 * Roundup's `prop=value` arguments turned into domain input, and filter values
 * matched against rendered properties. Link values are resolved through the
 * domain (so the actor must be allowed to see what it links to).
 */
import { NotFound } from '../../domain/errors.ts'
import type { Renderable, XmlRpcValue } from './codec.ts'
import { classes, type CallContext, type ClassName, type ClassSpec, type PropertySpec } from './classes.ts'
import { Fault, FaultCode } from './faults.ts'

export function propertyOf (cls: ClassSpec, name: string): PropertySpec<unknown> {
  if (!Object.hasOwn(cls.properties, name)) throw new Fault(FaultCode.invalidValue, `'${name}' is not a property of ${cls.name}`)
  return cls.properties[name]!
}

/** Reads a property the caller asked for by name; write-only ones (password) are never shown. */
export async function readProperty (cls: ClassSpec, view: unknown, name: string, ctx: CallContext): Promise<Renderable> {
  if (name === 'id') return String(cls.id(view))
  const property = propertyOf(cls, name)
  if (property.read === undefined) throw new Fault(FaultCode.permissionDenied, `Permission to view ${name} of ${cls.name} denied`)
  return await property.read(view, ctx)
}

/** The properties display() shows by default: all but the write-only ones, sorted. */
export function readableProperties (cls: ClassSpec): string[] {
  return Object.keys(cls.properties).filter((name) => cls.properties[name]!.read !== undefined).sort()
}

const truthy = new Set(['yes', 'true', '1'])
const falsy = new Set(['no', 'false', '0'])

function parseBoolean (name: string, value: string): boolean {
  const lower = value.trim().toLowerCase()
  if (truthy.has(lower)) return true
  if (falsy.has(lower)) return false
  throw new Fault(FaultCode.invalidValue, `property ${name}: '${value}' is not a boolean.`)
}

/**
 * Parses every `prop=value` argument into domain input before anything is
 * written; an unknown or read-only property, or a value that does not parse,
 * is a fault naming it.
 */
export async function parseAssignments (cls: ClassSpec, args: XmlRpcValue[], ctx: CallContext): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {}
  for (const arg of args) {
    if (typeof arg !== 'string' || !arg.includes('=')) {
      // Structs decode without a prototype, so String() cannot print them.
      const shown = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null && !(arg instanceof Date) ? JSON.stringify(arg) : String(arg)
      throw new Fault(FaultCode.wrongArguments, `argument "${shown}" not propname=value`)
    }
    const separator = arg.indexOf('=')
    const name = arg.slice(0, separator).trim()
    const value = arg.slice(separator + 1)
    const property = propertyOf(cls, name)
    if (property.write === undefined) throw new Fault(FaultCode.invalidValue, `property ${name} is read-only`)
    input[property.write] = await parseValue(ctx, name, property, value)
  }
  return input
}

async function parseValue (ctx: CallContext, name: string, property: PropertySpec<unknown>, value: string): Promise<unknown> {
  const type = property.type
  switch (type.kind) {
    case 'Boolean':
      return parseBoolean(name, value)
    case 'Link':
      return value === '' ? null : await linkedKey(ctx, name, type.to, value.trim())
    case 'Multilink': {
      const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '')
      if (property.resolvedByDomain === true) return items.map((item) => idPattern.test(item) ? Number(item) : item)
      return await Promise.all(items.map(async (item) => await linkedKey(ctx, name, type.to, item)))
    }
    default:
      return value === '' && property.nullable === true ? null : value
  }
}

const idPattern = /^[1-9]\d{0,15}$/

/** The key of the linked item named by id or by key, as the domain takes it. */
async function linkedKey (ctx: CallContext, name: string, to: ClassName, value: string): Promise<string> {
  const target = classes[to]
  try {
    if (idPattern.test(value)) return String(await readProperty(target, await target.get(ctx, Number(value)), target.key ?? 'id', ctx))
    if (target.lookup === undefined) throw new NotFound(to, value)
    await target.lookup(ctx, value)
    return value
  } catch (error) {
    if (error instanceof NotFound) throw new Fault(FaultCode.invalidValue, `property ${name}: '${value}' is not a ${to}.`)
    throw error
  }
}

/** The ids (as strings) that link filter values name, by id or by key; unknown keys name nothing. */
async function linkedIds (ctx: CallContext, to: ClassName, values: string[]): Promise<Set<string>> {
  const target = classes[to]
  const found = new Set<string>()
  for (const value of values) {
    if (idPattern.test(value)) {
      found.add(value)
      continue
    }
    try {
      if (target.lookup !== undefined) found.add(String(await target.lookup(ctx, value)))
    } catch (error) {
      if (!(error instanceof NotFound)) throw error
    }
  }
  return found
}

/** A test of one item's property against a filter value. */
type Matcher = (rendered: Renderable) => boolean

function asStrings (value: XmlRpcValue): string[] {
  const values = Array.isArray(value) ? value : [value]
  return values.map((item) => item instanceof Date ? item.toISOString() : String(item))
}

/**
 * Roundup's filter semantics: strings match case-insensitive substrings, a list
 * means any of its values, links match by id or key, multilinks when any linked
 * item matches.
 */
export async function matcherFor (cls: ClassSpec, name: string, value: XmlRpcValue, ctx: CallContext): Promise<Matcher> {
  if (name === 'id') {
    const wanted = new Set(asStrings(value))
    return (rendered) => wanted.has(String(rendered))
  }
  const property = propertyOf(cls, name)
  if (property.read === undefined) throw new Fault(FaultCode.permissionDenied, `Permission to search ${name} of ${cls.name} denied`)
  const type = property.type
  switch (type.kind) {
    case 'Boolean': {
      const wanted = new Set(asStrings(value).map((item) => parseBoolean(name, item)))
      return (rendered) => wanted.has(rendered === true)
    }
    case 'Link': {
      const wanted = await linkedIds(ctx, type.to, asStrings(value))
      return (rendered) => typeof rendered === 'string' && wanted.has(rendered)
    }
    case 'Multilink': {
      const wanted = await linkedIds(ctx, type.to, asStrings(value))
      return (rendered) => Array.isArray(rendered) && rendered.some((item) => wanted.has(String(item)))
    }
    default: {
      const wanted = asStrings(value).map((item) => item.toLowerCase())
      return (rendered) => {
        if (rendered === null || rendered === undefined) return false
        const actual = (rendered instanceof Date ? rendered.toISOString() : String(rendered)).toLowerCase()
        return wanted.some((item) => actual.includes(item))
      }
    }
  }
}
