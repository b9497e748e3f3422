/**
 * Uploads refused, each with its problem document and nothing kept: no item, no
 * staged file, no blob. Forms without a file or with two, the wrong content type,
 * names no file may have, a format that is not EDAM's, forms cut short or
 * malformed, a client that goes away mid-upload, and every limit (the largest
 * item, the project quota, parts, fields).
 */
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { emptySha256 } from '../../src/storage/blob-store.ts'
import { databaseKinds } from '../helper.ts'
import { basic, seededApp } from '../fixtures.ts'

interface Refusal { status: number, problem: { type: string, status: number, detail: string, errors?: Array<{ field: string }>, [member: string]: unknown } }

/** What a STORAGE_DIR holds: its blobs and its staged files. */
async function stored (storageDir: string): Promise<{ blobs: string[], staged: string[] }> {
  const root = join(storageDir, 'blobs')
  const blobs: string[] = []
  for (const prefix of await readdir(join(root, 'sha256')).catch(() => [])) blobs.push(...await readdir(join(root, 'sha256', prefix)))
  return { blobs: blobs.sort(), staged: await readdir(join(root, 'tmp')).catch(() => []) }
}

/** A multipart body written by hand, for what FormData will not write. */
function multipartBody (boundary: string, parts: Array<{ name: string, filename?: string, type?: string, body: string | Buffer }>, end = true): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type === undefined ? '' : `Content-Type: ${part.type}\r\n`}\r\n`))
    chunks.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body), Buffer.from('\r\n'))
  }
  if (end) chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}

for (const kind of databaseKinds) {
  t.test(`${kind}: refused uploads keep nothing`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind, { env: { DATA_MAX_BYTES: '100000', DATA_PROJECT_QUOTA_BYTES: '150000', DATA_MAX_PARTS: '3', DATA_MAX_FIELD_BYTES: '1024' } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const path = `/projects/${formatId(s.projectId)}/data`
    const storage = app.config.STORAGE_DIR!
    const items = async () => (await domain.projects.listData(systemActor, { project: s.projectId })).map((d) => d.name)
    const before = await items()

    const refused = async (what: string, status: number, body: FormData | string, headers: Record<string, string> = {}): Promise<Refusal['problem']> => {
      const answer = await fetch(`${base}${path}`, { method: 'POST', headers: { ...basic('owner'), ...headers }, body })
      t.equal(answer.status, status, `${what}: ${status}`)
      t.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8', `${what}: a problem document`)
      const problem = await answer.json() as Refusal['problem']
      t.equal(problem.status, status)
      t.same(await items(), before, `${what}: no item`)
      t.same(await stored(storage), { blobs: [emptySha256], staged: [] }, `${what}: nothing stored`)
      return problem
    }
    const form = (fields: Array<[string, string | Blob, string?]>): FormData => {
      const body = new FormData()
      for (const [name, value, filename] of fields) {
        if (typeof value === 'string') body.append(name, value)
        else body.append(name, value, filename)
      }
      return body
    }
    const file = (size = 10): Blob => new Blob([randomBytes(size)])

    t.match(await refused('no file part', 400, form([['name', 'x']])), { detail: /no part named file/ })
    t.match(await refused('two file parts', 400, form([['file', file(), 'a'], ['file', file(), 'b']])), { detail: /two parts named file/ })
    t.match(await refused('a file part of another name', 400, form([['data', file(), 'a']])), { detail: /part named file/ })
    t.match(await refused('a field named file', 400, form([['file', 'not a file']])), { detail: /must be a file part/ })
    t.match(await refused('an unknown field', 400, form([['file', file(), 'a'], ['colour', 'blue']])), { detail: /unknown field "colour"/ })
    t.match(await refused('a field twice', 400, form([['name', 'a'], ['name', 'b'], ['file', file(), 'a']])), { detail: /given twice/ })
    await refused('text/plain', 415, 'name=x', { 'content-type': 'text/plain' })
    await refused('form-urlencoded', 415, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' })
    await refused('multipart without a boundary', 400, 'x', { 'content-type': 'multipart/form-data' })
    for (const name of ['a\u0000b', 'dir/file', '..', 'back\\slash', 'x'.repeat(300)]) {
      const problem = await refused(`the name ${JSON.stringify(name).slice(0, 16)}`, 400, form([['name', name], ['file', file(), 'ok.txt']]))
      t.match(problem.errors, [{ field: 'name' }])
    }
    t.match((await refused('a file named ..', 400, form([['file', file(), '..']]))).errors, [{ field: 'name' }], 'the default name is checked as any other')
    for (const format of ['format_12', 'data_0006', 'https://edamontology.org/format_1929', 'http://edamontology.org/format_1929 ', 'fasta']) {
      t.match((await refused(`the format ${format}`, 400, form([['format', format], ['file', file(), 'a']]))).errors, [{ field: 'format' }])
    }
    const tooLarge = await refused('over DATA_MAX_BYTES', 413, form([['file', file(100_001), 'big']]))
    t.match(tooLarge, { max_bytes: 100_000, detail: /nothing was kept/ })
    t.match(await refused('a field over DATA_MAX_FIELD_BYTES', 413, form([['description', 'd'.repeat(1025)], ['file', file(), 'a']])), { detail: /DATA_MAX_FIELD_BYTES/ })
    t.match(await refused('over DATA_MAX_PARTS', 413, form([['file', file(), 'a'], ['name', 'n'], ['description', 'd'], ['format', 'format_1929']])),
      { detail: /DATA_MAX_PARTS \(3\)/ })

    const fits = await fetch(`${base}${path}`, { method: 'POST', headers: basic('owner'), body: form([['file', file(100_000), 'fits']]) })
    t.equal(fits.status, 201, 'as much as DATA_MAX_BYTES fits')
    const holding = (await fits.json() as { sha256: string }).sha256
    before.push('fits')
    const quota = await fetch(`${base}${path}`, { method: 'POST', headers: basic('owner'), body: form([['file', file(60_000), 'over quota']]) })
    t.equal(quota.status, 507, 'past the project\'s quota')
    t.match(await quota.json(), { type: 'urn:mobyle2:problem:quota-exceeded', quota_bytes: 150_000, used_bytes: 100_000 })
    t.same(await items(), before)
    t.same(await stored(storage), { blobs: [emptySha256, holding].sort(), staged: [] }, 'over quota: nothing stored')

    // What fetch will not send: a complete request whose form ends early, and a request broken off.
    const raw = async (body: Buffer, options: { contentLength?: number, closeAfter?: boolean } = {}): Promise<string> => await new Promise((resolve, reject) => {
      const socket = connect(Number(new URL(base).port), '127.0.0.1')
      let answer = ''
      socket.on('data', (chunk) => { answer += chunk.toString() })
      socket.on('error', reject)
      socket.on('close', () => { resolve(answer) })
      const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('owner').authorization}\r\n` +
        `Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: ${options.contentLength ?? body.length}\r\nConnection: close\r\n\r\n`
      socket.write(head)
      socket.write(body, () => { if (options.closeAfter === true) setTimeout(() => socket.destroy(), 200) })
    })
    const cut = multipartBody('b0undary', [{ name: 'name', body: 'cut' }, { name: 'file', filename: 'cut.bin', body: randomBytes(5000) }], false)
    const truncated = await raw(cut.subarray(0, cut.length - 100))
    t.match(truncated, /^HTTP\/1\.1 400 /, 'a form that ends early: 400')
    t.match(truncated, /malformed or ends early/)
    const unterminated = await raw(cut)
    t.match(unterminated, /^HTTP\/1\.1 400 /, 'a form without its closing boundary: 400')
    const goneAway = await raw(cut, { contentLength: cut.length + 100_000, closeAfter: true })
    t.equal(goneAway, '', 'a client gone mid-upload hears nothing')
    // The server notices the closed connection on its own time.
    for (let i = 0; i < 100 && (await stored(storage)).staged.length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    t.same(await items(), before, 'a client gone mid-upload leaves no item')
    t.same(await domain.blobs.sweep(systemActor), { blobs: 0, staged: 0, restoredEmpty: false }, 'and nothing for the sweep')
    t.same(await stored(storage), { blobs: [emptySha256, holding].sort(), staged: [] }, 'and no blob')
  })
}
