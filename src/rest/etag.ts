/**
 * `ETag` on successful reads, and `304 Not Modified` when the client already has
 * that representation (`If-None-Match`). The tag is a hash of the body, so it
 * changes whenever anything the caller sees changes.
 */
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

export function entityTag (payload: string): string {
  return `"${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}"`
}

/** `If-None-Match` compares weakly: `W/"x"` matches `"x"`, and `*` matches anything. */
function matches (ifNoneMatch: string | undefined, tag: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(',').some((candidate) => {
    const value = candidate.trim()
    return value === '*' || value.replace(/^W\//, '') === tag
  })
}

export async function etagHook (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return payload
  // A remembered representation (src/rest/common.ts) comes with its tag and its bytes.
  const given = reply.getHeader('etag') as string | undefined
  if (given === undefined && typeof payload !== 'string') return payload
  const tag = given ?? entityTag(payload as string)
  // What a caller sees depends on who it is: caches must not hand one user's answer to another.
  const vary = reply.getHeader('vary')
  void reply.header('etag', tag).header('cache-control', 'private, no-cache')
    .header('vary', [vary, 'Authorization, X-API-Key'].filter((v) => v !== undefined && v !== '').join(', '))
  if (matches(request.headers['if-none-match'], tag)) {
    // No body, so nothing encoded: the tag already says which representation the client holds.
    void reply.code(304).removeHeader('content-encoding')
    return ''
  }
  return payload
}
