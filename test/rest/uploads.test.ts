/**
 * Resumable uploads (TUS 1.0, `/uploads`) over real HTTP, spoken header by header
 * with fetch: an upload sent in two chunks becomes a data item that downloads
 * byte-identical; by id or by URL; creation with its first bytes, and a deferred
 * length; termination; expiry and the sweep; two requests racing to make items of
 * one upload; two servers sharing the storage; CORS for browsers.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { systemActor } from '../../src/domain/index.ts'
import { formatId } from '../../src/rest/common.ts'
import { databaseKinds } from '../helper.ts'
import { basic, seededApp, type Role } from '../fixtures.ts'
import { createUpload, metadata, patch, tusHeaders } from './tus.ts'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** What is left in a STORAGE_DIR's upload store. */
const uploadFiles = async (storageDir: string): Promise<string[]> => await readdir(join(storageDir, 'uploads')).catch(() => [])

for (const kind of databaseKinds) {
  t.test(`${kind}: an upload in two chunks becomes an item, and is released`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    const half = Math.floor(bytes.length / 2)

    // A client's claim to be someone else is overwritten: the server records the caller.
    const created = await createUpload(base, 'contributor', bytes.length,
      { filename: 'reads.fastq', filetype: 'text/x-fastq', mobyle2_uploader: String(s.ids.owner) })
    t.equal(created.status, 201)
    const location = created.headers.get('location')!
    t.match(location, /^\/uploads\/[0-9a-f]{32}$/, 'Location: the upload\'s URL, relative as every Location here')
    t.equal(created.headers.get('tus-resumable'), '1.0.0')
    t.ok(Date.parse(created.headers.get('upload-expires')!) > Date.now() + 86_000_000, 'Upload-Expires: a day on')
    const upload = `${base}${location}`
    const id = location.split('/').pop()!

    const head = async (who: Role = 'contributor') => await fetch(upload, { method: 'HEAD', headers: tusHeaders(who) })
    const fresh = await head()
    t.equal(fresh.status, 200)
    t.match(Object.fromEntries(fresh.headers), { 'upload-offset': '0', 'upload-length': String(bytes.length), 'cache-control': 'no-store', 'tus-resumable': '1.0.0' })
    t.match(fresh.headers.get('upload-metadata'), metadata({ mobyle2_uploader: String(s.ids.contributor) }), 'the uploader recorded is the caller')

    const first = await patch(upload, 'contributor', 0, bytes.subarray(0, half))
    t.equal(first.status, 204)
    t.equal(first.headers.get('upload-offset'), String(half))
    t.equal((await head()).headers.get('upload-offset'), String(half), 'HEAD says where to resume')
    const stale = await patch(upload, 'contributor', 0, bytes.subarray(0, 10))
    t.equal(stale.status, 409, 'a PATCH at the wrong offset: 409, nothing written')
    t.equal((await head()).headers.get('upload-offset'), String(half))
    const second = await patch(upload, 'contributor', half, bytes.subarray(half))
    t.equal(second.status, 204)
    t.equal(second.headers.get('upload-offset'), String(bytes.length))

    const made = await fetch(collection, {
      method: 'POST',
      headers: { ...basic('contributor'), 'content-type': 'application/json' },
      body: JSON.stringify({ upload: id, description: 'lane 1', format: 'format_1930' })
    })
    t.equal(made.status, 201)
    const item = await made.json() as Record<string, unknown>
    t.equal(made.headers.get('location'), `/projects/${formatId(s.projectId)}/data/${String(item.id)}`)
    t.match(item, {
      name: 'reads.fastq', description: 'lane 1', size: bytes.length, sha256: sha256(bytes), media_type: 'text/x-fastq',
      format: 'http://edamontology.org/format_1930', uploader: formatId(s.ids.contributor)
    }, 'as a multipart upload of the same file would be')
    const content = await fetch(`${base}${made.headers.get('location')!}/content`, { headers: basic('watcher') })
    t.equal(content.status, 200)
    t.equal(sha256(new Uint8Array(await content.arrayBuffer())), sha256(bytes), 'byte-identical')

    t.equal((await head()).status, 404, 'released: the upload is gone')
    t.same(await uploadFiles(app.config.STORAGE_DIR!), [], 'nothing of it is left')
  })

  t.test(`${kind}: by URL, with its first bytes, with a length declared late; terminated`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const make = async (upload: string, fields: Record<string, string> = {}) => await fetch(collection, {
      method: 'POST', headers: { ...basic('manager'), 'content-type': 'application/json' }, body: JSON.stringify({ upload, ...fields })
    })

    // Creation with upload: the POST carries the first bytes.
    const bytes = randomBytes(5000)
    const created = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers: { ...tusHeaders('manager'), 'upload-length': String(bytes.length), 'upload-metadata': metadata({ filename: 'first.bin' }), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(0, 3000)
    })
    t.equal(created.status, 201)
    t.equal(created.headers.get('upload-offset'), '3000', 'the first bytes arrived with the creation')
    const url = `${base}${created.headers.get('location')!}`
    t.equal((await patch(url, 'manager', 3000, bytes.subarray(3000))).status, 204)
    const byUrl = await make(url, { name: 'renamed.bin' })
    t.equal(byUrl.status, 201, 'the absolute URL names the upload')
    t.match(await byUrl.json(), { name: 'renamed.bin', size: bytes.length, sha256: sha256(bytes), media_type: 'application/octet-stream' },
      'the name given wins over the filename; no filetype: application/octet-stream')

    // A deferred length, declared by the last PATCH.
    const deferred = await fetch(`${base}/uploads`, { method: 'POST', headers: { ...tusHeaders('manager'), 'upload-defer-length': '1', 'upload-metadata': metadata({ filename: 'stream.txt', filetype: 'Text/Plain; charset=utf-8' }) } })
    t.equal(deferred.status, 201)
    const streamed = `${base}${deferred.headers.get('location')!}`
    const deferredHead = await fetch(streamed, { method: 'HEAD', headers: tusHeaders('manager') })
    t.equal(deferredHead.headers.get('upload-defer-length'), '1')
    t.equal((await patch(streamed, 'manager', 0, Buffer.from('hello, '))).status, 204)
    const unfinished = await make(deferred.headers.get('location')!)
    t.equal(unfinished.status, 409, 'a length not yet declared: not finished')
    t.match(await unfinished.json(), { detail: /not finished: 7 of a length not yet declared/ })
    t.equal((await patch(streamed, 'manager', 7, Buffer.from('world'), { 'upload-length': '12' })).status, 204)
    const relative = await make(deferred.headers.get('location')!)
    t.equal(relative.status, 201, 'the relative URL names the upload too')
    t.match(await relative.json(), { name: 'stream.txt', size: 12, sha256: sha256(Buffer.from('hello, world')), media_type: 'text/plain; charset=utf-8' },
      'filetype: the media type, its type and subtype in lower case')

    // Termination.
    const doomed = await createUpload(base, 'manager', 100, { filename: 'doomed' })
    const doomedUrl = `${base}${doomed.headers.get('location')!}`
    t.equal((await patch(doomedUrl, 'manager', 0, randomBytes(100))).status, 204)
    const terminated = await fetch(doomedUrl, { method: 'DELETE', headers: tusHeaders('manager') })
    t.equal(terminated.status, 204, 'DELETE terminates an upload, finished or not')
    t.equal((await fetch(doomedUrl, { method: 'HEAD', headers: tusHeaders('manager') })).status, 404)
    t.equal((await make(doomedUrl)).status, 404, 'a terminated upload makes no item')
    t.equal((await fetch(doomedUrl, { method: 'DELETE', headers: tusHeaders('manager') })).status, 404, 'nor is terminated twice')
    t.same(await uploadFiles(app.config.STORAGE_DIR!), [], 'every upload released or terminated: nothing left')
  })

  t.test(`${kind}: two requests making items of one upload at once make one`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const before = (await domain.projects.listData(systemActor, { project: s.projectId })).length
    for (let round = 0; round < 5; round++) {
      const bytes = randomBytes(200_000)
      const created = await createUpload(base, 'owner', bytes.length, { filename: `race${round}` })
      const location = created.headers.get('location')!
      t.equal((await patch(`${base}${location}`, 'owner', 0, bytes)).status, 204)
      const answers = await Promise.all([1, 2, 3].map(async () => await fetch(collection, {
        method: 'POST', headers: { ...basic('owner'), 'content-type': 'application/json' }, body: JSON.stringify({ upload: location })
      })))
      t.same(answers.map((answer) => answer.status).sort(), [201, 404, 404], `round ${round}: one item, the others meet no upload`)
    }
    t.equal((await domain.projects.listData(systemActor, { project: s.projectId })).length, before + 5)
  })

  t.test(`${kind}: an upload expires, and the sweep removes it`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind, { env: { UPLOAD_EXPIRY_SECONDS: '1' } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const unfinished = await createUpload(base, 'contributor', 1000, { filename: 'slow' })
    const url = `${base}${unfinished.headers.get('location')!}`
    t.equal((await patch(url, 'contributor', 0, randomBytes(400))).status, 204)
    const finished = await createUpload(base, 'contributor', 10, { filename: 'unused' })
    t.equal((await patch(`${base}${finished.headers.get('location')!}`, 'contributor', 0, randomBytes(10))).status, 204)
    t.equal((await uploadFiles(app.config.STORAGE_DIR!)).length, 4, 'two uploads, bytes and record each')
    await new Promise((resolve) => setTimeout(resolve, 1200))

    const expired = await fetch(url, { method: 'HEAD', headers: tusHeaders('contributor') })
    t.equal(expired.status, 410, 'expired, not swept yet: Gone, as TUS says')
    t.equal((await patch(url, 'contributor', 400, randomBytes(600))).status, 410, 'no more bytes')
    const made = await fetch(`${base}/projects/${formatId(s.projectId)}/data`, {
      method: 'POST', headers: { ...basic('contributor'), 'content-type': 'application/json' }, body: JSON.stringify({ upload: finished.headers.get('location') })
    })
    t.equal(made.status, 404, 'a finished upload expires too: it makes no item once its time is up')
    t.equal(await domain.uploads.sweep(systemActor), 2, 'the sweep removes both')
    t.same(await uploadFiles(app.config.STORAGE_DIR!), [])
    t.equal((await fetch(url, { method: 'HEAD', headers: tusHeaders('contributor') })).status, 404, 'swept: no such upload')
    t.equal(await domain.uploads.sweep(systemActor), 0, 'nothing more')
  })
}

t.test('two servers sharing STORAGE_DIR share the uploads: any of them takes the next chunk', async (t) => {
  const { app, db, ...s } = await seededApp(t, 'pglite')
  // A second server on the same database and storage, as a second process would be (its own protocol handler, its own locks).
  const other = await buildApp({ config: app.config, db })
  t.teardown(() => other.close())
  const [one, two] = [await app.listen({ host: '127.0.0.1', port: 0 }), await other.listen({ host: '127.0.0.1', port: 0 })]
  const bytes = randomBytes(100_000)
  const location = (await createUpload(one, 'contributor', bytes.length, { filename: 'shared.bin' })).headers.get('location')!
  t.equal((await patch(`${one}${location}`, 'contributor', 0, bytes.subarray(0, 40_000))).status, 204)
  t.equal((await fetch(`${two}${location}`, { method: 'HEAD', headers: tusHeaders('contributor') })).headers.get('upload-offset'), '40000',
    'the other server knows where to resume')
  t.equal((await patch(`${two}${location}`, 'contributor', 40_000, bytes.subarray(40_000))).status, 204)
  const made = await fetch(`${one}/projects/${formatId(s.projectId)}/data`, {
    method: 'POST', headers: { ...basic('contributor'), 'content-type': 'application/json' }, body: JSON.stringify({ upload: `${two}${location}` })
  })
  t.match(await made.json(), { size: bytes.length, sha256: sha256(bytes) }, 'the first server makes the item of what the second received')
  t.equal((await fetch(`${two}${location}`, { method: 'HEAD', headers: tusHeaders('contributor') })).status, 404, 'released for both')
})

t.test('CORS: a browser\'s TUS client may speak, from the origins CORS_ORIGINS allows only', async (t) => {
  for (const [origins, allowed] of [['https://app.example', true], ['', false]] as const) {
    const { app } = await seededApp(t, 'pglite', { env: { CORS_ORIGINS: origins } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const origin = { origin: 'https://app.example' }
    const preflight = await fetch(`${base}/uploads`, {
      method: 'OPTIONS',
      headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,tus-resumable,upload-length,upload-metadata' }
    })
    const created = await createUpload(base, 'contributor', 10, { filename: 'x' }, origin)
    t.equal(created.status, 201)
    const offset = await patch(`${base}${created.headers.get('location')!}`, 'contributor', 0, randomBytes(10), origin)
    if (allowed) {
      t.equal(preflight.status, 204)
      t.match(preflight.headers.get('access-control-allow-headers'), /Tus-Resumable.*Upload-Length.*Upload-Metadata/)
      t.match(preflight.headers.get('access-control-allow-methods'), /PATCH/)
      t.equal(created.headers.get('access-control-allow-origin'), 'https://app.example')
      t.match(created.headers.get('access-control-expose-headers'), /Location.*Upload-Offset/)
      t.equal(offset.headers.get('access-control-allow-origin'), 'https://app.example')
    } else {
      t.equal(created.headers.get('access-control-allow-origin'), null, 'no CORS_ORIGINS: no origin allowed')
      t.equal(offset.headers.get('access-control-allow-origin'), null)
    }
    await app.close()
  }
})

t.test('OPTIONS tells what the server speaks, to anyone', async (t) => {
  const { app } = await seededApp(t, 'pglite', { env: { DATA_MAX_BYTES: '5000' } })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const options = await fetch(`${base}/uploads`, { method: 'OPTIONS' })
  t.equal(options.status, 204)
  t.match(Object.fromEntries(options.headers), {
    'tus-version': '1.0.0', 'tus-max-size': '5000', 'tus-extension': /creation,creation-with-upload,creation-defer-length,termination,expiration/
  })
})
