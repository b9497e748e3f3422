/**
 * Roundup's `prop=value` arguments turned into domain input, and filter values
 * turned into the domain's filter. Link values are resolved through the
 * domain (so the actor must be allowed to see what it links to).
 */
import { NotFound } from '../../domain/errors.ts'
import type { Renderable, XmlRpcValue } from './codec.ts'
import { classes, type CallContext, type ClassName, type ClassSpec, type PropertySpec } from './classes.ts'
import { Fault, FaultCode } from './faults.ts'

export function propertyOf (cls: ClassSpec, name: string): PropertySpec<unknown> {
  if (!Object.hasOwn(cls.properties, name)) throw new Fault(FaultCode.invalidValue, `'${name}' is not a property of ${cls.name}`)
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the table holds its classes over any view (classes.ts); here that view becomes unknown
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
const readable = new WeakMap<ClassSpec, readonly string[]>()

/** The properties display() shows by default, sorted; worked out once per class. */
export function readableProperties (cls: ClassSpec): readonly string[] {
  let names = readable.get(cls)
  if (names === undefined) {
    readable.set(cls, names = Object.freeze(Object.keys(cls.properties).filter((name) => cls.properties[name]!.read !== undefined).sort()))
  }
  return names
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
      if (property.parse !== undefined) return property.parse(value)
      return value === '' && property.nullable === true ? null : value
  }
}

const idPattern = /^[1-9]\d{0,15}$/

/** The key of the linked item named by id or by key, as the domain takes it. */
async function linkedKey (ctx: CallContext, name: string, to: ClassName, value: string): Promise<string> {
  const target = classes[to]
  try {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a key property (or the id) reads as a string
    if (idPattern.test(value)) return String(await readProperty(target, await target.get(ctx, Number(value)), target.key ?? 'id', ctx))
    if (target.lookup === undefined) throw new NotFound(to, value)
    await target.lookup(ctx, value)
    return value
  } catch (error) {
    if (error instanceof NotFound) throw new Fault(FaultCode.invalidValue, `property ${name}: '${value}' is not a ${to}.`)
    throw error
  }
}

/** The ids that link filter values name, by id or by key; unknown keys name nothing. */
async function linkedIds (ctx: CallContext, to: ClassName, values: string[]): Promise<number[]> {
  const target = classes[to]
  const found = new Set<number>()
  for (const value of values) {
    if (idPattern.test(value)) {
      found.add(Number(value))
      continue
    }
    try {
      if (target.lookup !== undefined) found.add(await target.lookup(ctx, value))
    } catch (error) {
      if (!(error instanceof NotFound)) throw error
    }
  }
  return [...found]
}

function asStrings (value: XmlRpcValue): string[] {
  const values = Array.isArray(value) ? value : [value]
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a struct searched for reads as [object Object], which names nothing
  return values.map((item) => item instanceof Date ? item.toISOString() : String(item))
}

/** What one filter() entry asks of the domain: a filter field and its value, or nothing at all. */
export type Search = { field: string, value: unknown } | 'anything' | 'nothing'

/**
 * Roundup's filter semantics, as a domain filter: strings match case-insensitive
 * substrings, a list means any of its values, links match by id or key,
 * multilinks when any linked item matches, dates by period (see datePeriod),
 * numbers exactly.
 */
export async function searchFor (cls: ClassSpec, name: string, value: XmlRpcValue, ctx: CallContext): Promise<Search> {
  if (name === 'id') return { field: 'ids', value: asStrings(value).filter((item) => idPattern.test(item)).map(Number) }
  const property = propertyOf(cls, name)
  if (property.read === undefined || property.search === undefined) {
    throw new Fault(FaultCode.permissionDenied, `Permission to search ${name} of ${cls.name} denied`)
  }
  const field = property.search
  const type = property.type
  switch (type.kind) {
    case 'Boolean': {
      const wanted = new Set(asStrings(value).map((item) => parseBoolean(name, item)))
      return wanted.size === 0 ? 'nothing' : wanted.size === 2 ? 'anything' : { field, value: wanted.has(true) }
    }
    case 'Link':
    case 'Multilink':
      return { field, value: await linkedIds(ctx, type.to, asStrings(value)) }
    case 'Date': {
      const values = Array.isArray(value) ? value : [value]
      return { field, value: values.map((item) => datePeriod(name, item)) }
    }
    case 'Number':
      return { field, value: asStrings(value).map((item) => wholeNumber(name, item)) }
    default:
      return { field, value: { contains: asStrings(value) } }
  }
}

/** A number filter value: a whole number, matched exactly. */
function wholeNumber (name: string, value: string): number {
  const trimmed = value.trim()
  if (!/^\d{1,15}$/.test(trimmed)) throw new Fault(FaultCode.invalidValue, `property ${name}: '${value}' is not a whole number.`)
  return Number(trimmed)
}

const dateUnits = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T. ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?)?)?)?Z?$/

/**
 * A date filter value as the period it names, in UTC, as Roundup reads dates:
 * `2026` the year, `2026-11` the month, `2026-11-23` the day, and so on to the
 * second (`2026-11-23T10:05:30`, `.` or a space may stand for the `T`); an
 * XML-RPC dateTime names its second.
 */
function datePeriod (name: string, value: XmlRpcValue): { from: Date, before: Date } {
  if (value instanceof Date) {
    const from = new Date(Math.floor(value.getTime() / 1000) * 1000)
    return { from, before: new Date(from.getTime() + 1000) }
  }
  const match = typeof value === 'string' || typeof value === 'number' ? dateUnits.exec(String(value).trim()) : null
  const refused = (): Fault => new Fault(FaultCode.invalidValue, `property ${name}: '${typeof value === 'string' ? value : JSON.stringify(value)}' is not a date.`)
  if (match === null) throw refused()
  const parts = match.slice(1).map((part) => part === undefined ? undefined : Number(part))
  const given = parts.findLastIndex((part) => part !== undefined)
  const [year, month = 1, day = 1, hour = 0, minute = 0, second = 0] = parts as number[]
  const milliseconds = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0'))
  const at = (bump: number): Date => {
    const fields: [number, number, number, number, number, number, number] = [year!, month - 1, day, hour, minute, second, milliseconds]
    fields[given] = fields[given]! + bump
    // setUTCFullYear rolls a field over into the next (December + 1 is January of the next year) and takes years < 100 as written.
    const date = new Date(0)
    date.setUTCFullYear(fields[0], fields[1], fields[2])
    date.setUTCHours(fields[3], fields[4], fields[5], fields[6])
    return date
  }
  const from = at(0)
  // A field out of range (month 13, 31 April, hour 25) would roll over: refuse it rather than search elsewhere.
  if (Number.isNaN(from.getTime()) || month > 12 || month < 1 || day < 1 || hour > 23 || minute > 59 || second > 59 ||
    from.getUTCMonth() !== month - 1 || from.getUTCDate() !== day) {
    throw refused()
  }
  return { from, before: at(1) }
}
