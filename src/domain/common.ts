import { Conflict } from './errors.ts'
import { defaultPageSize, type Page } from './schemas.ts'
import { Prisma } from '../generated/prisma/client.ts'

export interface Listing<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export function paging (page: Page | undefined): { take: number, skip: number } {
  return { take: page?.limit ?? defaultPageSize, skip: page?.offset ?? 0 }
}

export function listing<T> (items: T[], total: number, page: { take: number, skip: number }): Listing<T> {
  return { items, total, limit: page.take, offset: page.skip }
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
