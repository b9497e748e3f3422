/**
 * What every REST resource shares: identifiers as the spec writes them, the
 * problem document, error responses for the OpenAPI document, paging.
 */
import Type, { type TSchema } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Listing } from '../domain/common.ts'
import { NotFound } from '../domain/errors.ts'
import { representation } from '../domain/read-model.ts'
import { problemMediaType } from '../http/problems.ts'
import { acceptsGzip, compressFrom, gzipped, gzipTag } from './compression.ts'
import { entityTag } from './etag.ts'
import { Page } from '../domain/schemas.ts'

/** Users, projects, jobs and data are numbered; the spec writes the number as 11 zero-padded digits. */
const idDigits = 11

export function formatId (id: number): string {
  return String(id).padStart(idDigits, '0')
}

export const IdString = Type.String({ pattern: `^[0-9]{${idDigits}}$`, description: 'An id, as 11 zero-padded digits.' })

/** An id in a path: the 11-digit form, or the plain number. */
export const IdParam = Type.String({
  pattern: `^[0-9]{1,${idDigits}}$`,
  description: 'An id: 11 zero-padded digits (as listed) or the plain number.'
})

/** Ids are 32-bit integers in the database: a larger number names nothing. */
const largestId = 2 ** 31 - 1

export function parseId (resource: string, text: string): number {
  const id = Number(text)
  if (!Number.isSafeInteger(id) || id > largestId) throw new NotFound(resource, text)
  return id
}

export const Timestamp = Type.String({ format: 'date-time' })

export const Problem = Type.Object({
  type: Type.String({ description: 'A URI naming the kind of problem.' }),
  title: Type.String(),
  status: Type.Integer({ description: 'The HTTP status code.' }),
  detail: Type.String(),
  instance: Type.Optional(Type.String({ description: 'The request path.' })),
  request_id: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
    description: 'The failing fields of an invalid request or a conflicting key.'
  })),
  account_status: Type.Optional(Type.Enum(['suspended', 'pending'], { description: 'Why a known account is refused.' })),
  status_message: Type.Optional(Type.String({ description: "The administrators' message to a refused account." })),
  retry_after: Type.Optional(Type.Integer({ description: 'Seconds to wait before trying again: to log in after too many failures (429), to resend a write that met concurrent writers (409), or while the database cannot be reached (503).' })),
  server: Type.Optional(Type.String({ description: 'The peer server a sync could not use (502); detail says why.' })),
  max_bytes: Type.Optional(Type.Integer({ description: 'The most bytes a data item may hold (413, DATA_MAX_BYTES).' })),
  quota_bytes: Type.Optional(Type.Integer({ description: "The project's data quota in bytes (507, type urn:mobyle2:problem:quota-exceeded)." })),
  used_bytes: Type.Optional(Type.Integer({ description: "The bytes the project's data items already hold (507, with quota_bytes)." }))
}, { $id: 'Problem', title: 'Problem', description: 'An RFC 9457 problem document.' })

const problemDescriptions: Record<number, string> = {
  400: 'Invalid parameters, query or body',
  401: 'Credentials missing (and needed) or wrong',
  403: 'The caller is known but not allowed',
  404: 'No such item',
  409: 'The key is taken, or the state forbids the change',
  413: 'The body is too large',
  415: 'The body is not JSON',
  429: 'Too many failed logins; retry later',
  502: 'The peer server could not be synced: unreachable, or its answer unusable',
  503: 'The database cannot be reached right now; retry after Retry-After seconds',
  507: 'The database has no room left for this write'
}

/** Error responses of a route, for the OpenAPI document; every route may answer 400, 401, 429, 503 and 507 (a write, a password login). */
export function problems (...statuses: number[]): Record<number, TSchema> {
  const all = [...new Set([400, 401, 429, 503, 507, ...statuses])].sort()
  return Object.fromEntries(all.map((status) => [status, {
    description: problemDescriptions[status] ?? 'Error',
    content: { [problemMediaType]: { schema: Type.Ref('Problem') } }
  }]))
}

const etagHeader = {
  ETag: Type.String({ description: 'A tag of this representation: send it in If-None-Match to get 304 Not Modified while it is unchanged.' })
}

/** A successful read, documented with its ETag. */
export function readResponse<T extends TSchema> (schema: T, description: string): T {
  return { ...schema, description, headers: etagHeader }
}

/** A collection page, documented with its count and links. */
export function listResponse<T extends TSchema> (schema: T): T {
  return {
    ...schema,
    headers: {
      ...etagHeader,
      'X-Total-Count': Type.String({ description: 'How many items match, over all pages.' }),
      Link: Type.String({ description: 'The next and previous pages, when there are: <url>; rel="next", <url>; rel="prev".' })
    }
  }
}

/** A creation, documented with the new item's address. */
export function createdResponse<T extends TSchema> (schema: T, description: string): T {
  return { ...schema, description, headers: { Location: Type.String({ description: 'The path of the new item.' }) } }
}

/** A successful change. */
export function changedResponse<T extends TSchema> (schema: T, description: string): T {
  return { ...schema, description }
}

/** The answer to a successful DELETE. */
export const NoContent = Type.Null({ description: 'Deleted' })

/** Paging, shared by every collection: the domain's own limits. */
export const pageQuery = Page.properties

/** Booleans in query strings are written true or false. */
export const QueryBoolean = Type.Boolean()

/**
 * An answer's body, serialized and encoded once, and its ETag; its gzip once a
 * caller asks for it; a listing's `Link` header by request URL.
 */
interface Representation { body: Buffer, tag: string, gzip?: Promise<Buffer | null>, links?: Map<string, string> }

/**
 * `answer` as `render` shows it, serialized by the route's own serializer (from its
 * response schema) and tagged. The read model keeps it with a remembered answer
 * (src/domain/read-model.ts), so that while nothing changes it is neither rendered,
 * nor serialized, nor hashed again: for the largest collections that is most of a
 * request's cost, and for a single item most of what is left besides HTTP.
 */
function represent (reply: FastifyReply, answer: object, render: object, document: () => unknown): Representation {
  return representation(answer, render, () => {
    // The route's serializer, compiled from its response schema, writes a string.
    const text = reply.serialize(document()) as string
    return { body: Buffer.from(text), tag: entityTag(text) }
  })
}

/** Sends a representation, gzip-compressed when it is large and the client takes gzip; synchronous unless it must compress. */
function sendRepresentation (request: FastifyRequest, reply: FastifyReply, representation: Representation): FastifyReply | Promise<FastifyReply> {
  void reply.type('application/json; charset=utf-8')
  if (representation.body.length < compressFrom) return reply.header('etag', representation.tag).send(representation.body)
  void reply.header('vary', 'Accept-Encoding')
  if (acceptsGzip(request.headers['accept-encoding'])) return sendGzip(reply, representation)
  return reply.header('etag', representation.tag).send(representation.body)
}

async function sendGzip (reply: FastifyReply, representation: Representation): Promise<FastifyReply> {
  const body = await (representation.gzip ??= gzipped(representation.body))
  if (body === null) return reply.header('etag', representation.tag).send(representation.body)
  return reply.header('etag', gzipTag(representation.tag)).header('content-encoding', 'gzip').send(body)
}

/**
 * A collection answer: the items keyed as the spec keys them, the total count in
 * `X-Total-Count`, and the neighbouring pages in `Link`.
 */
export function collection<T, R> (request: FastifyRequest, reply: FastifyReply, listing: Listing<T>,
  key: (item: T) => string, render: (item: T) => R): FastifyReply | Promise<FastifyReply> {
  const representation = represent(reply, listing, render,
    () => Object.fromEntries(listing.items.map((item) => [key(item), render(item)])))
  void reply.header('x-total-count', String(listing.total))
  const links = linksOf(representation, request.url, listing)
  if (links !== '') void reply.header('link', links)
  return sendRepresentation(request, reply, representation)
}

/** The most request URLs whose `Link` one remembered listing keeps (the same page asked with its parameters in another order, say). */
const linksPerListing = 16

/**
 * A listing's `Link` header for this URL, written once per URL while the listing is
 * remembered; a URL carrying an API key is not kept (it would keep the key).
 */
function linksOf (representation: Representation, url: string, listing: Listing<unknown>): string {
  if (url.includes('api_key')) return pageLinks(url, listing)
  representation.links ??= new Map()
  let links = representation.links.get(url)
  if (links === undefined) {
    if (representation.links.size >= linksPerListing) representation.links.clear()
    links = pageLinks(url, listing)
    representation.links.set(url, links)
  }
  return links
}

/** A single item read, as `render` shows it. */
export function entity<T extends object, R> (request: FastifyRequest, reply: FastifyReply, item: T, render: (item: T) => R): FastifyReply | Promise<FastifyReply> {
  return sendRepresentation(request, reply, represent(reply, item, render, () => render(item)))
}

function pageLinks (url: string, listing: Listing<unknown>): string {
  const parsed = new URL(url, 'http://localhost')
  // Credentials sent in the query stay out of the links.
  parsed.searchParams.delete('api_key')
  const link = (offset: number, rel: string): string => {
    parsed.searchParams.set('limit', String(listing.limit))
    parsed.searchParams.set('offset', String(offset))
    return `<${parsed.pathname}${parsed.search}>; rel="${rel}"`
  }
  const links: string[] = []
  if (listing.offset + listing.limit < listing.total) links.push(link(listing.offset + listing.limit, 'next'))
  if (listing.offset > 0) links.push(link(Math.max(0, listing.offset - listing.limit), 'prev'))
  return links.join(', ')
}

/** Drops the keys whose value is undefined or null: the spec omits empty fields rather than writing null. */
export function omitEmpty<T extends Record<string, unknown>> (record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== null)) as T
}
