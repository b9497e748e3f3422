import { Conflict } from './errors.ts'
import { defaultPageSize, maxPageSize, type Page } from './schemas.ts'
import type { Client } from './transactions.ts'
import { Prisma } from '../generated/prisma/client.ts'

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

/** A user by id, or by username. */
export type UserRef = number | string

export function userRefWhere (ref: UserRef): Prisma.UserWhereUniqueInput & Prisma.UserWhereInput {
  return typeof ref === 'number' ? { id: ref } : { username: ref }
}

/** The live (not retired) user `ref` names, or null: whom a membership, a grant or a key may concern. */
export async function liveUser (db: Client, ref: UserRef): Promise<{ id: number, username: string } | null> {
  return await db.user.findFirst({ where: { ...userRefWhere(ref), retiredAt: null }, select: { id: true, username: true } })
}

/** Matches a string field, for filters: an exact value, any of several, or a case-insensitive substring. */
export type TextMatch = string | string[] | { contains: string }

export function textWhere (match: TextMatch | undefined): Prisma.StringFilter | string | undefined {
  if (match === undefined) return undefined
  if (typeof match === 'string') return match
  if (Array.isArray(match)) return { in: match }
  return { contains: match.contains, mode: 'insensitive' }
}

/**
 * Turns a unique-constraint violation that slipped past the checks (two writers
 * racing for the same key) into a Conflict rather than an internal error.
 */
export async function guardUnique<T> (resource: string, key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new Conflict(`${resource} with key "${key}" exists`, resource)
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
