import { Conflict } from './errors.ts'
import { defaultPageSize, maxPageSize, type Page } from './schemas.ts'
import type { Client } from './transactions.ts'
import { Prisma } from '../generated/prisma/client.ts'
import { isUniqueViolation, storableId } from './storable.ts'

export interface Listing<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

/** Prisma's window for a page. */
export interface Window { take: number, skip: number }

/** One page of a listing: `rows` fetches the window's rows, `count` all that match, `view` renders a row. */
export async function pageOf<Row, View> (page: Page | undefined, rows: (window: Window) => Promise<Row[]>,
  count: () => Promise<number>, view: (row: Row) => View): Promise<Listing<View>> {
  const window = { take: page?.limit ?? defaultPageSize, skip: page?.offset ?? 0 }
  const [found, total] = await Promise.all([rows(window), count()])
  return { items: found.map(view), total, limit: window.take, offset: window.skip }
}

/** The `retiredAt` that retires an item now, or restores it. */
export function retirement (retired: boolean): { retiredAt: Date | null } {
  return { retiredAt: retired ? new Date() : null }
}

/** Refuses a key another item already holds (`holder` looks it up), as every face reports a taken key. */
export async function assertKeyFree (resource: string, field: string, key: string, holder: Promise<unknown>, noun = 'key'): Promise<void> {
  if (await holder !== null) throw new Conflict(`${resource} with ${noun} "${key}" exists`, resource, field)
}

/** Every item of a paged listing, for the RPC verbs that answer whole collections. */
export async function allPages<T> (fetch: (page: Page) => Promise<Listing<T>>): Promise<T[]> {
  const items: T[] = []
  for (;;) {
    const page = await fetch({ limit: maxPageSize, offset: items.length })
    items.push(...page.items)
    if (page.items.length === 0 || items.length >= page.total) return items
  }
}

/** A user by id, or by username in any case. */
export type UserRef = number | string

/** Usernames and group names are one name whatever their case: stored as given, found by their lower-case key. */
export function nameKey (name: string): string {
  return name.toLowerCase()
}

export function userRefWhere (ref: UserRef): Prisma.UserWhereUniqueInput & Prisma.UserWhereInput {
  return typeof ref === 'number' ? { id: ref } : { usernameKey: nameKey(ref) }
}

/** The live (not retired) user `ref` names, or null: whom a membership, a grant or a key may concern. */
export async function liveUser (db: Client, ref: UserRef): Promise<{ id: number, username: string } | null> {
  return await db.user.findFirst({ where: { ...userRefWhere(ref), retiredAt: null }, select: { id: true, username: true } })
}

/**
 * Matches a string field, for filters: an exact value, any of several exact
 * values, or any of several case-insensitive substrings.
 */
export type TextMatch = string | string[] | { contains: string | string[] }

/** A condition, or the disjunction of several (none: nothing matches). */
export type AnyOf<W> = W | { OR: W[] }

export function anyOf<W> (conditions: W[]): AnyOf<W> {
  return conditions.length === 1 ? conditions[0]! : { OR: conditions }
}

/**
 * The condition a text match puts on one field, `build` placing a string filter
 * on it; [] when there is nothing to match, for spreading into an AND list.
 */
export function textWhere<W> (match: TextMatch | undefined, build: (filter: Prisma.StringFilter | string) => W): Array<AnyOf<W>> {
  if (match === undefined) return []
  if (typeof match === 'string') return [build(match)]
  if (Array.isArray(match)) return [build({ in: match })]
  const substrings = typeof match.contains === 'string' ? [match.contains] : match.contains
  return [anyOf(substrings.map((contains) => build({ contains, mode: 'insensitive' })))]
}

/** The values of an enumeration a text match selects: substrings compare case-insensitively, exact values must be listed. */
export function enumMatch<E extends string> (values: readonly E[], match: TextMatch | undefined): { in: E[] } | undefined {
  if (match === undefined) return undefined
  if (typeof match === 'string' || Array.isArray(match)) {
    const wanted = new Set<string>(typeof match === 'string' ? [match] : match)
    return { in: values.filter((value) => wanted.has(value)) }
  }
  const substrings = (typeof match.contains === 'string' ? [match.contains] : match.contains).map((text) => text.toLowerCase())
  return { in: values.filter((value) => substrings.some((text) => value.toLowerCase().includes(text))) }
}

/** Matches a date field: any of several half-open periods [from, before). */
export type DateMatch = Array<{ from: Date, before: Date }>

function dateWhere<W> (match: DateMatch | undefined, build: (filter: Prisma.DateTimeFilter) => W): Array<AnyOf<W>> {
  if (match === undefined) return []
  return [anyOf(match.map((period) => build({ gte: period.from, lt: period.before })))]
}

/**
 * The conditions a filter's text and date matches put on the columns of the
 * same names (`W` is the entity's where input).
 */
export function columnsWhere<F extends object, W> (filter: F, text: ReadonlyArray<keyof F & keyof W & string>,
  dates: ReadonlyArray<keyof F & keyof W & string> = []): Array<AnyOf<W>> {
  const value = (field: keyof F): unknown => filter[field]
  return [
    ...text.flatMap((field) => textWhere(value(field) as TextMatch | undefined, (match) => ({ [field]: match }) as W)),
    ...dates.flatMap((field) => dateWhere(value(field) as DateMatch | undefined, (match) => ({ [field]: match }) as W))
  ]
}

/** Matches the ids of linked items: any of these. */
export function idsWhere (ids: number[] | undefined): { in: number[] } | undefined {
  return ids === undefined ? undefined : { in: ids.filter(storableId) }
}

/** One key of an ordering: a sortable field of the entity, ascending unless `descending`. */
export interface Order<F extends string = string> {
  field: F
  descending?: boolean
}

/**
 * How a field sorts: an SQL expression over the entity's table, aliased `t`
 * (a constant of the domain's, never caller input); text sorts case-insensitively,
 * by code point whatever the database's collation (then case decides).
 * Missing values (NULL) come first ascending, last descending.
 */
export interface SortKey {
  sql: Prisma.Sql
  text?: boolean
}

/** The SQL column `t.<name>`, as a sort key. */
export function column (name: string, options: { text?: boolean } = {}): SortKey {
  return { sql: Prisma.raw(`t."${name}"`), ...options }
}

/**
 * The ids of the matching rows (`ids`, as the entity's where found them) in the
 * order asked for, then by id: the database sorts, the rows are never read.
 */
export async function orderedIds<F extends string> (db: Client, table: string, ids: number[], order: Array<Order<F>>,
  keys: (field: F) => SortKey, joins: Prisma.Sql = Prisma.empty): Promise<number[]> {
  if (order.length === 0 || ids.length === 0) return ids
  const terms = order.flatMap(({ field, descending }) => {
    const key = keys(field)
    const direction = Prisma.raw(descending === true ? 'DESC NULLS LAST' : 'ASC NULLS FIRST')
    return key.text === true
      ? [Prisma.sql`lower(${key.sql}) COLLATE "C" ${direction}`, Prisma.sql`(${key.sql}) COLLATE "C" ${direction}`]
      : [Prisma.sql`${key.sql} ${direction}`]
  })
  const rows = await db.$queryRaw<Array<{ id: number }>>`SELECT t.id FROM ${Prisma.raw(`"${table}"`)} t ${joins}
    WHERE t.id = ANY(${ids}::int[]) ORDER BY ${Prisma.join(terms)}, t.id ASC`
  return rows.map((row) => Number(row.id))
}

/**
 * Turns a unique-constraint violation that slipped past the checks (two writers
 * racing for the same key) into a Conflict rather than an internal error.
 */
export async function guardUnique<T> (resource: string, key: string, work: () => Promise<T>, field?: string): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new Conflict(`${resource} with key "${key}" exists`, resource, field)
    }
    throw error
  }
}

export interface Updated<T> {
  item: T
  /** The fields whose value changed, in input order; empty when nothing did. */
  changed: string[]
}

/** The keys of `input` whose value differs from `current`. */
export function changedFields (current: object, input: Record<string, unknown>, aliases: Record<string, string> = {}): string[] {
  const before = current as Record<string, unknown>
  return Object.keys(input).filter((key) => {
    const value = input[key]
    if (value === undefined) return false
    const old = before[aliases[key] ?? key]
    return !(old === value || (old === undefined && value === null) || (old === null && value === undefined))
  })
}

/**
 * Gathers the items added in one turn of the event loop and hands them to `run`
 * together (at most `maxItems` at a time): writes that arrive together share one
 * statement. `run` answers each item, in order, with its result or the Error its
 * caller is to be told; if it throws, every caller is told that.
 */
export class Batch<T, R> {
  private waiting: Array<{ item: T, resolve: (result: R) => void, reject: (error: unknown) => void }> = []

  constructor (private readonly run: (items: T[]) => Promise<Array<R | Error>>, private readonly maxItems = 100) {}

  async add (item: T): Promise<R> {
    return await new Promise<R>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => { this.flush() })
      this.waiting.push({ item, resolve, reject })
    })
  }

  private flush (): void {
    while (this.waiting.length > 0) {
      const callers = this.waiting.splice(0, this.maxItems)
      this.run(callers.map(({ item }) => item)).then((results) => {
        callers.forEach(({ resolve, reject }, i) => {
          const result = results[i]
          if (result instanceof Error) reject(result)
          else resolve(result as R)
        })
      }, (error: unknown) => { for (const { reject } of callers) reject(error) })
    }
  }
}
