/**
 * Reads the caller's credentials from a request, the same way for every face:
 * HTTP Basic, `X-API-Key`, `Authorization: Bearer`, or `?api_key=` (RhodeCode's
 * web-view form). None of them means the anonymous actor; more than one is refused
 * (`ambiguous`): which one a server would pick is nothing a client should guess.
 */
export type PresentedCredentials =
  | { kind: 'none' }
  | { kind: 'basic', username: string, password: string }
  | { kind: 'apiKey', key: string }
  /** Something was sent but cannot be read (e.g. Basic without a colon). */
  | { kind: 'malformed', reason: string }
  /** More than one of Authorization, X-API-Key and ?api_key: which to believe is not for the server to guess. */
  | { kind: 'ambiguous', sent: string[] }

export interface CredentialSource {
  headers: Record<string, string | string[] | undefined>
  query?: unknown
}

function header (headers: CredentialSource['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

export function readCredentials ({ headers, query }: CredentialSource): PresentedCredentials {
  const authorization = header(headers, 'authorization')
  const headerKey = header(headers, 'x-api-key')
  const queryKey = (query as Record<string, unknown> | undefined)?.api_key
  const sent = [
    ...(authorization !== undefined && authorization.trim() !== '' ? ['Authorization'] : []),
    ...(headerKey !== undefined && headerKey !== '' ? ['X-API-Key'] : []),
    ...(typeof queryKey === 'string' && queryKey !== '' ? ['api_key'] : [])
  ]
  if (sent.length > 1) return { kind: 'ambiguous', sent }
  if (authorization !== undefined && authorization.trim() !== '') {
    const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2)
    switch (scheme.toLowerCase()) {
      case 'basic': {
        const decoded = Buffer.from(value, 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon < 0 || value === '') return { kind: 'malformed', reason: 'Basic credentials are not username:password' }
        return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
      }
      case 'bearer':
        return value === '' ? { kind: 'malformed', reason: 'empty Bearer token' } : { kind: 'apiKey', key: value }
      default:
        return { kind: 'malformed', reason: `unsupported authorization scheme ${scheme}` }
    }
  }
  if (headerKey !== undefined && headerKey !== '') return { kind: 'apiKey', key: headerKey }
  if (typeof queryKey === 'string' && queryKey !== '') return { kind: 'apiKey', key: queryKey }
  return { kind: 'none' }
}
