/**
 * A file's bytes, or one range of them, written to a response through a few
 * buffers used over and over.
 *
 * fs.createReadStream allocates a fresh buffer for every chunk, and buffers live
 * outside V8's heap: every few tens of MiB sent, V8 answers the growth with a full
 * mark-compact of the heap. In a small process that costs nothing; in the server,
 * whose heap holds the remembered answers, the database driver and PGlite, it
 * tripled the CPU per MiB downloaded (bench/README.md, Transfers). Here each buffer
 * is written, and read into again only once the socket has taken its bytes.
 */
import { open } from 'node:fs/promises'
import type { FastifyReply } from 'fastify'

const chunkBytes = 256 * 1024
/** Chunks on their way to the socket at once: enough to keep it busy while the next is read. */
const slots = 4

/**
 * Answers `reply` with `length` bytes of `path` from `start`, with the status and
 * headers set on it so far. A file that cannot be opened is an error thrown before
 * anything is sent. Once the headers are out, a client gone ends the work, and a
 * file that ends early cuts the body short (its Content-Length said more: the
 * client sees a truncated body, never a wrong one).
 */
export async function sendFileBytes (reply: FastifyReply, path: string, start: number, length: number): Promise<void> {
  const file = await open(path, 'r')
  reply.hijack()
  const response = reply.raw
  const headers = Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined)
  response.writeHead(reply.statusCode, Object.fromEntries(headers))
  const size = Math.min(chunkBytes, Math.max(length, 1))
  const buffers = Array.from({ length: Math.min(slots, Math.ceil(length / size)) }, () => Buffer.allocUnsafeSlow(size))
  // Each slot's write in flight, settled once the socket took its bytes (false: it failed).
  const inFlight: Array<Promise<boolean>> = buffers.map(async () => true)
  let gone = false
  const onClose = (): void => { gone = true }
  response.once('close', onClose)
  try {
    let sent = 0
    for (let chunk = 0; sent < length && !gone; chunk++) {
      const slot = chunk % buffers.length
      if (!await inFlight[slot]!) break
      const buffer = buffers[slot]!
      const { bytesRead } = await file.read(buffer, 0, Math.min(size, length - sent), start + sent)
      if (bytesRead === 0 || gone) break
      sent += bytesRead
      inFlight[slot] = new Promise((resolve) => {
        response.write(buffer.subarray(0, bytesRead), (error) => { resolve(error === undefined || error === null) })
      })
    }
    if (sent < length || !(await Promise.all(inFlight)).every(Boolean)) response.destroy()
    else response.end()
  } catch (error) {
    response.destroy(error as Error)
  } finally {
    response.off('close', onClose)
    await file.close()
  }
}
