/**
 * Every failure a JSON-RPC call can meet, mapped in one table to the text of a
 * RhodeCode `error` and to a JSON-RPC 2.0 error object. The messages are the same
 * in both dialects; 2.0 adds a code and structured `data`.
 */
import { asDomainError, type DomainError, type DomainErrorCode, type Invalid, type NotFound, type PeerFailed, type TooManyAttempts, type Unavailable } from '../../domain/errors.ts'

/** The errors of the protocol itself, raised by the envelope and the argument check. */
export type ProtocolErrorKind = 'parse' | 'invalid_request' | 'method_not_found' | 'invalid_params' | 'invalid_key'

export class ProtocolError extends Error {
  constructor (readonly kind: ProtocolErrorKind, message: string, readonly data?: Record<string, unknown>) {
    super(message)
  }
}

/** The JSON-RPC 2.0 codes: the specification's own, then this server's application codes (last digits echo HTTP). */
export const errorCodes = {
  parse: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal: -32603,
  unauthenticated: -32001,
  invalid_key: -32001,
  forbidden: -32003,
  not_found: -32004,
  conflict: -32009,
  invalid: -32022,
  too_many_attempts: -32029,
  peer_failed: -32052,
  unavailable: -32053,
  insufficient_storage: -32057,
  // Content does not travel over JSON-RPC (the OpenRPC document leaves these two out): an empty item fits any limit.
  too_large: -32013,
  quota_exceeded: -32057
} as const satisfies Record<ProtocolErrorKind | DomainErrorCode | 'internal', number>

export interface DescribedError {
  code: number
  message: string
  data?: Record<string, unknown>
  /** Set for the login throttle, to send a Retry-After header. */
  retryAfterSeconds?: number
  /** An unexpected failure: the caller sees only "Internal server error"; the server logs it. */
  internal: boolean
}

/** RhodeCode's words for this domain's resources. */
const rhodecodeNames: Record<string, string> = { user: 'user', group: 'users group', project: 'repository' }

function describeDomainError (error: DomainError): DescribedError {
  const code = errorCodes[error.code]
  const data: Record<string, unknown> = { reason: error.code }
  switch (error.code) {
    case 'not_found': {
      const notFound = error as NotFound
      const name = rhodecodeNames[notFound.resource] ?? notFound.resource
      return { code, message: `${name} \`${notFound.key}\` does not exist`, data: { ...data, resource: name, key: notFound.key }, internal: false }
    }
    case 'forbidden':
      return { code, message: `Permission denied: ${error.message}`, data, internal: false }
    case 'unauthenticated':
      return { code, message: 'Authentication required: send a valid API key', data, internal: false }
    case 'too_many_attempts': {
      const seconds = (error as TooManyAttempts).retryAfterSeconds
      return {
        code,
        message: `Too many failed logins: retry after ${seconds} seconds`,
        data: { ...data, retryAfterSeconds: seconds },
        retryAfterSeconds: seconds,
        internal: false
      }
    }
    case 'invalid':
      return { code, message: `Invalid input: ${error.message}`, data: { ...data, fields: (error as Invalid).fields }, internal: false }
    case 'conflict':
      return { code, message: error.message, data, internal: false }
    case 'peer_failed':
      return { code, message: error.message, data: { ...data, server: (error as PeerFailed).server }, internal: false }
    case 'unavailable': {
      const seconds = (error as Unavailable).retryAfterSeconds
      return { code, message: error.message, data: { ...data, retryAfterSeconds: seconds }, retryAfterSeconds: seconds, internal: false }
    }
    case 'insufficient_storage':
    case 'too_large':
    case 'quota_exceeded':
      return { code, message: error.message, data, internal: false }
  }
}

export function describeError (error: unknown): DescribedError {
  if (error instanceof ProtocolError) {
    return { code: errorCodes[error.kind], message: error.message, data: { reason: error.kind, ...error.data }, internal: false }
  }
  const domainError = asDomainError(error)
  if (domainError !== undefined) return describeDomainError(domainError)
  return { code: errorCodes.internal, message: 'Internal server error', internal: true }
}
