/**
 * The transfer floor (bench/transfer.ts): a plain `node:http` server, run as a
 * child process like the server under test, that moves the same bytes with
 * nothing between the socket and the file.
 *
 *   GET /download              the file FLOOR_FILE names: fs.createReadStream piped to the answer
 *   POST /upload?hash&sync     the body, whole (multipart wrapper and all), written to a new file in
 *                              FLOOR_DIR; `hash`: through a sha256 and a byte count first, as the
 *                              server's blob store does; `sync`: flushed to disk before the answer, as
 *                              the store does. Answers {"file", "size", "sha256"}; the bench removes the file.
 *
 * It prints its port on standard output once it listens.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const file = process.env.FLOOR_FILE!
const dir = process.env.FLOOR_DIR!

const server = createServer((request, response) => {
  handle(request, response).catch((error: Error) => {
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
    response.end(error.message)
  })
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`)
})
process.once('SIGTERM', () => { server.close() })

async function handle (request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://floor')
  if (request.method === 'GET' && url.pathname === '/download') {
    const { size } = await stat(file)
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
    await pipeline(createReadStream(file), response)
    return
  }
  if (request.method === 'POST' && url.pathname === '/upload') {
    const target = join(dir, `upload.${randomBytes(6).toString('hex')}`)
    // As src/storage/file-store.ts stages a blob: a new file, counted and hashed on the way when asked, flushed when asked.
    const hash = createHash('sha256')
    let size = 0
    const counted = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        size += chunk.length
        hash.update(chunk)
        done(null, chunk)
      }
    })
    const sink = (await open(target, 'wx')).createWriteStream({ flush: url.searchParams.has('sync') })
    if (url.searchParams.has('hash')) {
      await pipeline(request, counted, sink)
    } else {
      await pipeline(request, sink)
      size = sink.bytesWritten
    }
    const body = JSON.stringify({ file: target, size, sha256: url.searchParams.has('hash') ? hash.digest('hex') : null })
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    response.end(body)
    return
  }
  response.writeHead(404).end()
}
