/**
 * gzip for the remembered REST representations (src/rest/common.ts): the largest
 * answers (`GET /servers/` names every service: 100 KB for 10,000 services, 1 MB
 * for 100,000) shrink about tenfold, and a representation is compressed once, off
 * the event loop, for every caller until something changes.
 */
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'

const gzipAsync = promisify(gzip)

/** Smaller bodies are sent as they are: gzip's framing and the client's inflating cost more than the bytes saved. */
export const compressFrom = 1024

/**
 * Whether an `Accept-Encoding` header takes gzip: named (or `x-gzip`) with a
 * non-zero weight, or else `*` with one (RFC 9110 §12.5.3).
 */
export function acceptsGzip (header: string | undefined): boolean {
  if (header === undefined) return false
  let anyCoding = false
  for (const entry of header.split(',')) {
    const [coding = '', ...parameters] = entry.split(';')
    const name = coding.trim().toLowerCase()
    const weight = parameters.map((parameter) => parameter.trim().toLowerCase()).find((parameter) => parameter.startsWith('q='))
    const accepted = weight === undefined || Number(weight.slice(2)) > 0
    if (name === 'gzip' || name === 'x-gzip') return accepted
    if (name === '*') anyCoding = accepted
  }
  return anyCoding
}

/** The gzip of `body`, or null when compressing failed (the body is then sent as it is). */
export async function gzipped (body: Buffer): Promise<Buffer | null> {
  return await gzipAsync(body).catch(() => null)
}

/** A gzip representation's entity tag: a representation of its own (RFC 9110 §8.8.3), so never the identity's tag. */
export function gzipTag (tag: string): string {
  return `${tag.slice(0, -1)}-gzip"`
}
