/**
 * The server's answer to a failure no face claims: an RFC 9457 problem document.
 * Requests that reach no route, URLs Fastify cannot read, and errors outside any
 * face's own handler get it; each face maps its own errors in its own protocol
 * (REST: src/rest/errors.ts, JSON-RPC and XML-RPC: their envelopes).
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { describeErrors } from '../domain/schemas.ts'
import type { DomainError, InvalidField } from '../domain/errors.ts'

export const problemMediaType = 'application/problem+json'

export interface ProblemDocument {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  request_id?: string
  errors?: InvalidField[]
  account_status?: 'suspended' | 'pending'
  status_message?: string
  retry_after?: number
  server?: string
  /** What limits data content: DATA_MAX_BYTES (413), the project's quota and its use (507). */
  max_bytes?: number
  quota_bytes?: number
  used_bytes?: number
}

function problemType (status: number): string {
  return `urn:mobyle2:problem:${(STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
}

export async function sendProblem (request: FastifyRequest, reply: FastifyReply, status: number, detail: string,
  extra: Partial<ProblemDocument> = {}, headers: Record<string, string> = {}): Promise<FastifyReply> {
  const problem: ProblemDocument = {
    type: problemType(status),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0],
    ...extra
  }
  return await reply.code(status).headers(headers).type(`${problemMediaType}; charset=utf-8`).send(JSON.stringify(problem))
}

const validationParts: Record<string, string> = { body: 'body', querystring: 'query string', params: 'path', headers: 'headers' }

/**
 * Fastify's own errors keep their 4xx status (a schema's validation names the
 * failing fields); anything else is a 500 that says nothing but its request id, and
 * is logged.
 */
export async function httpErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (error.validation !== undefined) {
    const part = validationParts[error.validationContext ?? ''] ?? 'request'
    const errors = describeErrors(error.validation)
    const detail = `invalid ${part}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`
    return await sendProblem(request, reply, 400, detail, { errors })
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const detail = error instanceof SyntaxError ? `the body is not valid JSON: ${error.message}` : error.message
    return await sendProblem(request, reply, status, detail)
  }
  request.log.error({ err: error }, 'request failed')
  return await sendProblem(request, reply, 500, 'Internal Server Error', { request_id: String(request.id) })
}

export async function notFoundHandler (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return await sendProblem(request, reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`)
}

/** Errors Fastify meets before routing (a broken URL escape, an over-long parameter), as problems too. */
export function frameworkErrorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void sendProblem(request, reply, error.statusCode ?? 400, error.message)
}

/** Statuses Node's HTTP parser answers for, by its error codes; anything else it cannot read is a 400. */
const clientErrorStatuses: Record<string, number> = { ERR_HTTP_REQUEST_TIMEOUT: 408, HPE_HEADER_OVERFLOW: 431 }
const clientErrorDetails: Record<number, string> = {
  400: 'the request is not valid HTTP',
  408: 'the request did not arrive in time (REQUEST_TIMEOUT_SECONDS)',
  431: 'the request headers are too large'
}

/**
 * What Node's HTTP parser refuses before any route sees it (a malformed request,
 * headers too large, a request that did not arrive within the timeout), answered
 * as a problem document too, and the connection closed.
 */
export function clientErrorHandler (error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const status = clientErrorStatuses[error.code ?? ''] ?? 400
  const body = JSON.stringify({ type: problemType(status), title: STATUS_CODES[status], status, detail: clientErrorDetails[status] })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: ${problemMediaType}; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** When each kind of database trouble was last logged: once a while, not once a request. */
const troubleLogged = new Map<string, number>()
const troubleLogIntervalMs = 30_000

/**
 * Logs that the database cannot be reached or is full, at most once every 30 s for
 * each: every request meets it meanwhile, and each is answered 503 or 507.
 */
export function logDatabaseTrouble (log: FastifyBaseLogger, error: DomainError): void {
  if (error.code !== 'unavailable' && error.code !== 'insufficient_storage') return
  const now = Date.now()
  if (now - (troubleLogged.get(error.code) ?? -Infinity) < troubleLogIntervalMs) return
  troubleLogged.set(error.code, now)
  log.error({ cause: error.code }, error.code === 'unavailable'
    ? 'the database cannot be reached: requests are answered 503 until it can (logged again in 30 s if it lasts)'
    : 'the database has no room left: writes are answered 507 until space is freed (logged again in 30 s if it lasts)')
}
