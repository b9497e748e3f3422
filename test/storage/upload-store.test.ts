/**
 * The upload store's files, without a server: what `find` takes for an upload,
 * a claim only one caller gets (and restores or releases), and a sweep that
 * removes expired uploads whole, with whatever a crash left of them.
 */
import { readdir, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { FileUploadStore, newUploadId, withUploader } from '../../src/storage/upload-store.ts'
import { tempDir } from '../helper.ts'

const hourAgo = new Date(Date.now() - 3600_000)

/** An upload's files as @tus/file-store writes them, `bytes` received of `length`. */
async function writeUpload (dir: string, options: { bytes?: string, length?: number, metadata?: Record<string, string | null>, created?: Date } = {}): Promise<string> {
  const id = newUploadId()
  await writeFile(join(dir, id), options.bytes ?? '')
  await writeFile(join(dir, `${id}.json`), JSON.stringify({
    id, size: options.length ?? 10, offset: 0, metadata: options.metadata ?? withUploader({ filename: 'x' }, 7), creation_date: (options.created ?? new Date()).toISOString()
  }))
  return id
}

t.test('find: an upload is its record and its bytes, with the uploader the server recorded', async (t) => {
  const store = new FileUploadStore(await tempDir(t), { expirySeconds: 60 })
  const dir = store.datastore.directory
  const id = await writeUpload(dir, { bytes: 'abcd', length: 10, metadata: withUploader({ filename: 'reads', mobyle2_uploader: '99' }, 7) })
  t.match(await store.find(id), { id, uploader: 7, length: 10, offset: 4, metadata: { filename: 'reads', mobyle2_uploader: '7' }, expired: false },
    'the uploader is the one recorded, whatever the client sent under its key')
  t.equal(await store.find(newUploadId()), undefined, 'no such upload')
  t.equal(await store.find('../etc/passwd'), undefined, 'no id at all')
  const ownerless = await writeUpload(dir, { metadata: { filename: 'x' } })
  t.equal(await store.find(ownerless), undefined, 'a record without an uploader is nobody\'s: no upload')
  const old = await writeUpload(dir, { created: hourAgo })
  t.match(await store.find(old), { expired: true })
})

t.test('claim: one caller takes an upload; it is restored or released', async (t) => {
  const store = new FileUploadStore(await tempDir(t), { expirySeconds: 60 })
  const dir = store.datastore.directory
  const id = await writeUpload(dir, { bytes: 'content', length: 7 })
  const claims = await Promise.all([store.claim(id), store.claim(id), store.claim(id)])
  const won = claims.filter((claim) => claim !== undefined)
  t.equal(won.length, 1, 'one claim of three')
  t.equal(await store.find(id), undefined, 'claimed: out of everyone\'s reach')
  const chunks: Buffer[] = []
  for await (const chunk of won[0]!.read()) chunks.push(chunk as Buffer)
  t.equal(Buffer.concat(chunks).toString(), 'content')
  await won[0]!.restore()
  t.match(await store.find(id), { offset: 7 }, 'restored as it was')
  const again = await store.claim(id)
  await again!.release()
  t.same(await readdir(dir), [], 'released: nothing left')
  await again!.release()
  await again!.restore()
  t.equal(await store.claim(id), undefined, 'released or restored twice: nothing happens, and nothing comes back')
})

t.test('sweep: expired uploads go whole, with what crashes left; the rest stays', async (t) => {
  const store = new FileUploadStore(await tempDir(t), { expirySeconds: 60 })
  const dir = store.datastore.directory
  const expired = await writeUpload(dir, { bytes: 'abc', created: hourAgo })
  const finishedExpired = await writeUpload(dir, { bytes: '0123456789', created: hourAgo })
  const fresh = await writeUpload(dir, { bytes: 'abc' })
  // A claim whose process died: its bytes renamed, its record left.
  const claimed = await writeUpload(dir, { created: hourAgo })
  t.ok(await store.claim(claimed))
  // A record whose bytes are gone, and bytes without a record (a crash while creating), old and new.
  const recordOnly = await writeUpload(dir, { created: hourAgo })
  await unlink(join(dir, recordOnly))
  const bytesOnly = newUploadId()
  await writeFile(join(dir, bytesOnly), '')
  await utimes(join(dir, bytesOnly), hourAgo, hourAgo)
  const newBytesOnly = newUploadId()
  await writeFile(join(dir, newBytesOnly), '')
  await writeFile(join(dir, 'not-an-upload'), '')

  t.equal(await store.sweep(), 5, 'the expired, finished or not, the claimed, the record alone, the old bytes alone')
  t.same((await readdir(dir)).sort(), [fresh, `${fresh}.json`, newBytesOnly, 'not-an-upload'].sort())
  t.equal(await store.find(expired), undefined)
  t.equal(await store.find(finishedExpired), undefined)
  t.equal(await store.sweep(), 0, 'nothing more')
})
