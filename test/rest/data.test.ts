/**
 * `/projects/{id}/data` with content, over real HTTP: a 5 MiB upload (fetch's
 * FormData, and curl's -F where curl is installed) downloads byte-identical with
 * its sha256; ranges, conditional requests, HEAD; who may do what; deletes free
 * content no other item holds.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseDisposition } from 'content-disposition'
import t from 'tap'
import { emptySha256 } from '../../src/storage/blob-store.ts'
import { formatId } from '../../src/rest/common.ts'
import { databaseKinds, tempDir } from '../helper.ts'
import { basic, password, roles, seededApp, type Role } from '../fixtures.ts'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** The blobs in a STORAGE_DIR. */
async function blobsIn (storageDir: string): Promise<string[]> {
  const root = join(storageDir, 'blobs', 'sha256')
  const found: string[] = []
  for (const prefix of await readdir(root).catch(() => [])) found.push(...await readdir(join(root, prefix)))
  return found.sort()
}

function form (bytes: Uint8Array, filename: string, fields: Record<string, string> = {}, type = 'application/octet-stream'): FormData {
  const body = new FormData()
  for (const [name, value] of Object.entries(fields)) body.append(name, value)
  body.append('file', new Blob([bytes], { type }), filename)
  return body
}

const curl = await promisify(execFile)('curl', ['--version']).then(() => true, () => false)

for (const kind of databaseKinds) {
  t.test(`${kind}: content uploaded downloads byte-identical, whole or in ranges`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const bytes = randomBytes(5 * 1024 * 1024)

    const created = await fetch(collection, {
      method: 'POST',
      headers: basic('contributor'),
      body: form(bytes, 'reads.fastq', { description: 'five MiB', format: 'http://edamontology.org/format_1930' }, 'text/x-fastq')
    })
    t.equal(created.status, 201)
    const item = await created.json() as Record<string, unknown>
    const location = created.headers.get('location')!
    t.equal(location, `/projects/${formatId(s.projectId)}/data/${String(item.id)}`)
    t.match(item, {
      name: 'reads.fastq', description: 'five MiB', size: bytes.length, sha256: sha256(bytes), media_type: 'text/x-fastq',
      format: 'http://edamontology.org/format_1930', uploader: formatId(s.ids.contributor), created: /^\d{4}-/
    })
    t.same(await (await fetch(`${base}${location}`, { headers: basic('watcher') })).json(), item, 'the item reads as it was answered')

    const content = `${base}${location}/content`
    const whole = await fetch(content, { headers: basic('watcher') })
    t.equal(whole.status, 200)
    const downloaded = new Uint8Array(await whole.arrayBuffer())
    t.equal(sha256(downloaded), sha256(bytes), 'byte-identical')
    t.match(Object.fromEntries(whole.headers), {
      'content-type': 'text/x-fastq',
      'content-length': String(bytes.length),
      etag: `"${sha256(bytes)}"`,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff'
    })
    t.same(parseDisposition(whole.headers.get('content-disposition')!), { type: 'attachment', parameters: { filename: 'reads.fastq' } })
    const head = await fetch(content, { method: 'HEAD', headers: basic('watcher') })
    t.equal(head.status, 200)
    t.equal(head.headers.get('content-length'), String(bytes.length), 'HEAD says the length')
    t.equal(head.headers.get('etag'), `"${sha256(bytes)}"`)

    const ranged = async (range: string, extra: Record<string, string> = {}) =>
      await fetch(content, { headers: { ...basic('watcher'), range, ...extra } })
    const middle = await ranged('bytes=1000-1999')
    t.equal(middle.status, 206)
    t.equal(middle.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`)
    t.same(Buffer.from(await middle.arrayBuffer()), bytes.subarray(1000, 2000))
    // Across the buffers the server reads through (256 KiB each, four in turn: src/http/file-body.ts), and past their first round.
    const wide = await ranged('bytes=262000-1400000')
    t.equal(wide.status, 206)
    t.same(Buffer.from(await wide.arrayBuffer()), bytes.subarray(262000, 1400001), 'a range across several buffers, byte-identical')
    // A client gone halfway: the server stops, and answers the next as ever.
    const leaving = new AbortController()
    const abandoned = await fetch(content, { headers: basic('watcher'), signal: leaving.signal })
    const reader = abandoned.body!.getReader()
    await reader.read()
    leaving.abort()
    await reader.read().catch(() => {})
    const after = await fetch(content, { headers: basic('watcher') })
    t.equal(sha256(new Uint8Array(await after.arrayBuffer())), sha256(bytes), 'a download after one abandoned is whole')
    const tail = await ranged('bytes=-10')
    t.equal(tail.status, 206)
    t.same(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 10), 'a suffix range')
    const beyond = await ranged(`bytes=${bytes.length}-`)
    t.equal(beyond.status, 416, 'a range beyond the end')
    t.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`)
    t.equal(beyond.headers.get('content-type'), 'application/problem+json; charset=utf-8')
    t.equal(beyond.headers.get('content-disposition'), null, 'a refusal is no attachment')
    const several = await ranged('bytes=0-9,100-109')
    t.equal(several.status, 200, 'several ranges: the whole content')
    t.equal((await several.arrayBuffer()).byteLength, bytes.length)
    for (const malformed of ['bytes=abc', 'bytes=5-2', 'bytes=-', 'bytes=--1', 'bytes=1-2-3', `bytes=${'9'.repeat(400)}-`]) {
      const answer = await ranged(malformed)
      // RFC 9110 lets a server refuse (416) or ignore (200) a range it cannot use; send reads 1-2-3 as 1-2.
      t.ok([200, 206, 416].includes(answer.status), `${malformed.slice(0, 20)}: ${answer.status}, never a 500`)
      await answer.arrayBuffer()
    }
    const otherUnit = await ranged('items=0-1')
    t.equal(otherUnit.status, 200, 'a unit other than bytes is ignored')
    await otherUnit.arrayBuffer()

    const tag = whole.headers.get('etag')!
    const conditional = async (headers: Record<string, string>) => await fetch(content, { headers: { ...basic('watcher'), ...headers } })
    const notModified = await conditional({ 'if-none-match': tag })
    t.equal(notModified.status, 304)
    t.equal(notModified.headers.get('etag'), tag)
    t.equal((await notModified.arrayBuffer()).byteLength, 0)
    t.equal((await conditional({ 'if-none-match': `W/${tag}` })).status, 304, 'If-None-Match compares weakly')
    const changed = await conditional({ 'if-none-match': '"something else"' })
    t.equal(changed.status, 200)
    await changed.arrayBuffer()
    t.equal((await conditional({ 'if-match': '"something else"' })).status, 412)
    const matched = await conditional({ 'if-match': tag, range: 'bytes=0-0' })
    t.equal(matched.status, 206)
    await matched.arrayBuffer()
    const staleRange = await conditional({ 'if-range': '"an older tag"', range: 'bytes=0-0' })
    t.equal(staleRange.status, 200, 'If-Range naming another tag: the whole content')
    await staleRange.arrayBuffer()
    const freshRange = await conditional({ 'if-range': tag, range: 'bytes=0-0' })
    t.equal(freshRange.status, 206)
    t.same(Buffer.from(await freshRange.arrayBuffer()), bytes.subarray(0, 1))

    t.test('curl -F uploads, curl downloads', { skip: curl ? false : 'curl is not installed here: the fetch upload above stands for it' }, async (t) => {
      const dir = await tempDir(t)
      const file = join(dir, 'contigs.fa')
      await writeFile(file, bytes)
      const run = promisify(execFile)
      const { stdout } = await run('curl', ['-sS', '-u', `manager:${password}`, '-F', `file=@${file};type=text/x-fasta`, '-F', 'format=format_1929', collection])
      const uploaded = JSON.parse(stdout) as { id: string, sha256: string, name: string, size: number }
      t.match(uploaded, { name: 'contigs.fa', size: bytes.length, sha256: sha256(bytes) })
      const out = join(dir, 'downloaded')
      await run('curl', ['-sS', '-f', '-u', `watcher:${password}`, '-o', out, `${collection}/${uploaded.id}/content`])
      const { stdout: summed } = await run('sha256sum', [out]).catch(() => ({ stdout: '' }))
      if (summed !== '') t.equal(summed.split(' ')[0], sha256(bytes), 'sha256sum agrees')
      t.same(await blobsIn(app.config.STORAGE_DIR!), [sha256(bytes), emptySha256].sort(), 'the same content twice is one blob')
    })
  })

  t.test(`${kind}: names and media types travel safely`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const names = ['séquences "brutes".fa', 'a;b=c, d\'e.txt', '100%.csv', 'データ.bin']
    for (const name of names) {
      const created = await fetch(collection, { method: 'POST', headers: basic('owner'), body: form(Buffer.from(name), 'ignored', { name }) })
      t.equal(created.status, 201, name)
      const { id } = await created.json() as { id: string }
      const answer = await fetch(`${collection}/${id}/content`, { headers: basic('owner') })
      const disposition = answer.headers.get('content-disposition')!
      t.match(disposition, /^attachment; filename=("[\x20-\x7e]*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)(;|$)/, `${name}: a plain ASCII filename first`)
      t.match(parseDisposition(disposition), { type: 'attachment', parameters: { filename: name } }, `${name}: read back as sent (RFC 6266)`)
      t.equal(await answer.text(), name)
    }
    const json = await fetch(collection, { method: 'POST', headers: { ...basic('owner'), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'label only', format: 'format_2330' }) })
    t.equal(json.status, 201, 'the JSON form records an item without content')
    const label = await json.json() as { id: string }
    t.match(label, { size: 0, sha256: emptySha256, media_type: 'application/octet-stream', format: 'http://edamontology.org/format_2330' })
    const empty = await fetch(`${collection}/${label.id}/content`, { headers: basic('owner') })
    t.equal(empty.status, 200)
    t.equal(empty.headers.get('content-length'), '0')
    t.equal((await empty.arrayBuffer()).byteLength, 0)
    t.equal((await fetch(`${collection}/${label.id}/content`, { headers: { ...basic('owner'), range: 'bytes=0-' } })).status, 416, 'no range of nothing is satisfiable')
  })

  t.test(`${kind}: members read, contributors upload and delete, and the rest meet a project that is not there`, async (t) => {
    const { app, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const item = `${collection}/${formatId(s.dataId)}`
    const members: readonly Role[] = ['admin', 'owner', 'manager', 'contributor', 'watcher', 'groupie']
    const writers: readonly Role[] = ['admin', 'owner', 'manager', 'contributor', 'groupie']
    for (const who of [...roles, 'anonymous'] as const) {
      const headers = who === 'anonymous' ? {} : basic(who)
      const refused = who === 'suspended' || who === 'pending' ? 403 : (members as readonly string[]).includes(who) ? 403 : 404
      const read = members.includes(who as Role) ? 200 : refused
      t.equal((await fetch(item, { headers })).status, read, `${who} reads the item`)
      const content = await fetch(`${item}/content`, { headers })
      t.equal(content.status, read, `${who} reads its content`)
      await content.arrayBuffer()
      t.equal((await fetch(collection, { headers })).status, read, `${who} lists the project's data`)
      const upload = await fetch(collection, { method: 'POST', headers, body: form(Buffer.from(`from ${who}`), `${who}.txt`) })
      t.equal(upload.status, writers.includes(who as Role) ? 201 : refused, `${who} uploads`)
      if (upload.status === 201) {
        const { id } = await upload.json() as { id: string }
        t.equal((await fetch(`${collection}/${id}`, { method: 'DELETE', headers })).status, 204, `${who} deletes`)
      } else {
        await upload.arrayBuffer()
        t.equal((await fetch(item, { method: 'DELETE', headers })).status, refused, `${who} may not delete`)
      }
    }
    const other = await fetch(`${base}/projects/${formatId(s.otherProjectId)}/data`, { method: 'POST', headers: basic('owner'), body: form(Buffer.from('x'), 'x') })
    t.equal(other.status, 404, 'a project one cannot see, as one that does not exist')
    t.same((await blobsIn(app.config.STORAGE_DIR!)), [emptySha256], 'every upload was deleted, with its content; the seeded item holds the empty blob')
  })

  t.test(`${kind}: content goes with the last item holding it`, async (t) => {
    const { app, domain, ...s } = await seededApp(t, kind)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const collection = `${base}/projects/${formatId(s.projectId)}/data`
    const bytes = randomBytes(10_000)
    const upload = async (name: string): Promise<string> => {
      const created = await fetch(collection, { method: 'POST', headers: basic('owner'), body: form(bytes, name) })
      return (await created.json() as { id: string }).id
    }
    const [first, second] = [await upload('one'), await upload('two')]
    const storage = app.config.STORAGE_DIR!
    t.same(await blobsIn(storage), [sha256(bytes), emptySha256].sort())
    t.equal((await fetch(`${collection}/${first}`, { method: 'DELETE', headers: basic('owner') })).status, 204)
    t.same(await blobsIn(storage), [sha256(bytes), emptySha256].sort(), 'kept: another item holds it')
    t.equal((await (await fetch(`${collection}/${second}/content`, { headers: basic('watcher') })).arrayBuffer()).byteLength, bytes.length)
    t.equal((await fetch(`${collection}/${second}`, { method: 'DELETE', headers: basic('owner') })).status, 204)
    t.same(await blobsIn(storage), [emptySha256], 'gone with the last item')
    t.equal((await fetch(`${collection}/${second}/content`, { headers: basic('owner') })).status, 404)
    await upload('three')
    await domain.projects.delete(s.actors.owner, s.projectId)
    t.same(await blobsIn(storage), [], 'a deleted project\'s content goes with it')
  })
}
