/**
 * A TUS 1.0 client's requests, written header by header for fetch: what the
 * upload tests send to `/uploads`.
 */
import { basic } from '../fixtures.ts'

/** The headers every TUS request but OPTIONS carries, with a user's credentials (none for `anonymous`). */
export function tusHeaders (who: string): Record<string, string> {
  return { 'tus-resumable': '1.0.0', ...(who === 'anonymous' ? {} : basic(who)) }
}

/** An Upload-Metadata header: keys, and values in base64. */
export function metadata (fields: Record<string, string>): string {
  return Object.entries(fields).map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`).join(',')
}

/** Creates an upload of `length` bytes. */
export async function createUpload (base: string, who: string, length: number, fields: Record<string, string> = {},
  extra: Record<string, string> = {}): Promise<Response> {
  const headers = { ...tusHeaders(who), 'upload-length': String(length), ...extra }
  return await fetch(`${base}/uploads`, { method: 'POST', headers: Object.keys(fields).length === 0 ? headers : { ...headers, 'upload-metadata': metadata(fields) } })
}

/** Sends `bytes` at `offset`. */
export async function patch (url: string, who: string, offset: number, bytes: Uint8Array, extra: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, {
    method: 'PATCH',
    headers: { ...tusHeaders(who), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...extra },
    body: bytes
  })
}
