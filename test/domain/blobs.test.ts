/**
 * Data content in the domain and the blob store (src/domain/blobs.ts,
 * src/storage/file-store.ts): staging, placing, identical content stored once,
 * limits with nothing kept, the sweep, and the race of a delete with a creation
 * of the same content, on both databases.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { systemActor } from '../../src/domain/index.ts'
import { emptySha256 } from '../../src/storage/blob-store.ts'
import { FileBlobStore } from '../../src/storage/file-store.ts'
import { seededDomain } from '../fixtures.ts'
import { databaseKinds, tempDir } from '../helper.ts'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const source = (bytes: Buffer): Readable => Readable.from([bytes])

async function stagingFiles (root: string): Promise<string[]> {
  return await readdir(join(root, 'blobs', 'tmp')).catch(() => [])
}

/** The directory a store was made on (STORAGE_DIR). */
function rootOf (store: FileBlobStore | { locate: FileBlobStore['locate'] }): string {
  return join(store.locate(emptySha256).root, '..', '..')
}

async function collect<T> (items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

t.test('the file store stages while hashing, places durably, and keeps nothing of what fails', async (t) => {
  const root = await tempDir(t)
  const store = new FileBlobStore(root, { staleAfterMs: 60_000 })
  const bytes = randomBytes(200_000)
  const staged = await store.stage(source(bytes), { maxBytes: bytes.length })
  t.same({ sha256: staged.sha256, size: staged.size }, { sha256: sha256(bytes), size: bytes.length })
  t.notOk(await store.has(staged.sha256), 'staged is not yet placed')
  await store.place(staged)
  t.ok(await store.has(staged.sha256))
  t.same(await collect(store.list()), [staged.sha256])
  t.same(store.locate(staged.sha256), { root: join(root, 'blobs', 'sha256'), path: `/${staged.sha256.slice(0, 2)}/${staged.sha256}` })
  const again = await store.stage(source(bytes), { maxBytes: bytes.length })
  await store.place(again)
  await store.discard(again)
  t.same(await collect(store.list()), [staged.sha256], 'identical content is one blob')

  await t.rejects(store.stage(source(bytes), { maxBytes: bytes.length - 1 }), { name: 'BlobTooLarge', maxBytes: bytes.length - 1 })
  const broken = new Readable({
    read () {
      this.push(randomBytes(1000))
      this.destroy(new Error('the client went away'))
    }
  })
  await t.rejects(store.stage(broken, { maxBytes: 1e9 }), { message: 'the client went away' })
  t.same(await stagingFiles(root), [], 'nothing staged stays behind a refusal or a broken stream')

  await store.remove(staged.sha256)
  await store.remove(staged.sha256)
  t.same(await collect(store.list()), [], 'removed, and removing twice is no error')
})

t.test('the file store sweeps staged files whose writer is gone', async (t) => {
  const root = await tempDir(t)
  const store = new FileBlobStore(root, { staleAfterMs: 60_000 })
  const inFlight = new Readable({ read () {} })
  inFlight.push(Buffer.from('partial'))
  const staging = store.stage(inFlight, { maxBytes: 1e9 })
  while ((await stagingFiles(root)).length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const [own] = await stagingFiles(root)
  const host = own!.split('.')[0]
  const dir = join(root, 'blobs', 'tmp')
  const old = new Date(Date.now() - 120_000)
  // A pid no process has (above Linux's pid_max), an earlier process with this very pid, other hosts' fresh and stale files.
  const files = { deadPid: `${host}.4194305.aa`, samePid: `${host}.${process.pid}.bb`, fresh: 'elsewhere.12.cc', stale: 'elsewhere.13.dd' }
  for (const name of Object.values(files)) await writeFile(join(dir, name), 'x')
  await utimes(join(dir, files.stale), old, old)
  t.equal(await store.sweepStaging(), 3)
  t.same((await stagingFiles(root)).sort(), [own, files.fresh].sort(), 'an upload in flight and a fresh file of another host stay')
  inFlight.push(null)
  await store.place(await staging)
  t.same(await stagingFiles(root), [files.fresh], 'placed, the upload leaves nothing staged')
})

for (const kind of databaseKinds) {
  t.test(`${kind}: items hold content; identical content is stored once and goes with its last item`, async (t) => {
    const { domain, storage, ...s } = await seededDomain(t, kind)
    const owner = s.actors.owner
    const bytes = randomBytes(100_000)
    const first = await domain.projects.addData(owner, s.projectId, { name: 'a.fa', format: 'format_1929' },
      { blob: await domain.projects.stageData(owner, s.projectId, source(bytes)), mediaType: 'Text/X-Fasta; charset=UTF-8' })
    t.match(first, {
      name: 'a.fa', size: bytes.length, sha256: sha256(bytes), mediaType: 'text/x-fasta; charset=UTF-8',
      format: 'http://edamontology.org/format_1929', uploader: s.ids.owner
    })
    const second = await domain.projects.addData(s.actors.contributor, s.projectId, { name: 'b.fa', format: 'http://edamontology.org/format_1929' },
      { blob: await domain.projects.stageData(s.actors.contributor, s.projectId, source(bytes)), mediaType: 'text/plain' })
    t.equal(second.format, first.format, 'either form of an EDAM format is kept as its IRI')
    t.same(await collect(storage.store.list()), [first.sha256, emptySha256].sort(), 'one blob for both items, and the empty one of the seeded item')
    t.equal((await domain.projects.getData(s.actors.watcher, second.id)).uploader, s.ids.contributor)
    t.match(await domain.projects.dataContent(s.actors.watcher, first.id, s.projectId), { item: { id: first.id }, location: storage.store.locate(first.sha256) })

    await domain.projects.removeData(owner, s.projectId, first.id)
    t.ok(await storage.store.has(first.sha256), 'kept while another item holds it')
    await domain.projects.removeData(owner, s.projectId, second.id)
    t.notOk(await storage.store.has(first.sha256), 'gone with its last item')

    await t.rejects(domain.projects.stageData(s.actors.watcher, s.projectId, source(bytes)), { code: 'forbidden' }, 'watchers do not upload')
    await t.rejects(domain.projects.stageData(s.actors.outsider, s.projectId, source(bytes)), { code: 'not_found' })
    await t.rejects(domain.projects.addData(owner, s.projectId, { name: 'x', format: 'data_0006' }), { code: 'invalid' })
    await t.rejects(domain.projects.addData(owner, s.projectId, { name: 'x' }, {
      blob: await domain.projects.stageData(owner, s.projectId, source(bytes)), mediaType: 'text/plain\r\nX-Injected: 1'
    }), { code: 'invalid', fields: [{ field: 'media_type' }] })
    for (const name of ['..', '.', 'a/b', 'a\\b', 'a\u0000b', 'x'.repeat(201)]) {
      await t.rejects(domain.projects.addData(owner, s.projectId, { name }), { code: 'invalid' }, JSON.stringify(name).slice(0, 20))
    }
    t.same(await stagingFiles(rootOf(storage.store)), [], 'refused content is not kept')
    t.equal((await domain.projects.listData(owner, { project: s.projectId })).length, 1, 'only the seeded item is left')
  })

  t.test(`${kind}: the largest item and the project quota refuse with nothing kept`, async (t) => {
    const { domain, storage, ...s } = await seededDomain(t, kind, { storage: { maxBytes: 1000, quotaBytes: 1500 } })
    const owner = s.actors.owner
    await t.rejects(domain.projects.stageData(owner, s.projectId, source(randomBytes(1001))), { code: 'too_large', maxBytes: 1000 })
    const staged = await domain.projects.stageData(owner, s.projectId, source(randomBytes(1000)))
    await domain.projects.addData(owner, s.projectId, { name: 'first' }, { blob: staged, mediaType: 'application/octet-stream' })
    await t.rejects(domain.projects.stageData(owner, s.projectId, source(randomBytes(501))),
      { code: 'quota_exceeded', quotaBytes: 1500, usedBytes: 1000 })
    // Staged while there was room, created once there is none: the quota is checked again under the project's lock.
    const early = await domain.projects.stageData(owner, s.projectId, source(randomBytes(400)))
    await domain.projects.addData(owner, s.projectId, { name: 'second' }, { blob: await domain.projects.stageData(owner, s.projectId, source(randomBytes(400))), mediaType: 'text/plain' })
    await t.rejects(domain.projects.addData(owner, s.projectId, { name: 'third' }, { blob: early, mediaType: 'text/plain' }), { code: 'quota_exceeded' })
    await domain.projects.addData(owner, s.projectId, { name: 'empty items always fit' })
    t.same((await domain.projects.listData(owner, { project: s.projectId })).map((d) => d.name),
      ['reads.fastq', 'first', 'second', 'empty items always fit'])
    t.equal((await collect(storage.store.list())).length, 3, 'the empty blob and two others: nothing of the refused ones')
  })

  t.test(`${kind}: the sweep removes what no item holds, and only that`, async (t) => {
    const { db, domain, storage, ...s } = await seededDomain(t, kind)
    const { store } = storage
    const owner = s.actors.owner
    const kept = randomBytes(5000)
    const item = await domain.projects.addData(owner, s.projectId, { name: 'kept' }, { blob: await domain.projects.stageData(owner, s.projectId, source(kept)), mediaType: 'text/plain' })
    // A crash after placing, before the commit: a file without a row.
    const orphan = await store.stage(source(randomBytes(3000)), { maxBytes: 1e9 })
    await store.place(orphan)
    // A crash after removing the file, before deleting the row: a row without a file.
    await db.prisma.$executeRaw`INSERT INTO "blob" (sha256, size) VALUES (${'0'.repeat(64)}, 7)`
    // Items recorded before data had content refer to the empty blob, whose file no upload ever placed.
    await store.remove(emptySha256)
    t.same(await domain.blobs.sweep(systemActor), { blobs: 2, staged: 0, restoredEmpty: true })
    t.same((await collect(store.list())).sort(), [emptySha256, item.sha256].sort())
    t.same((await db.prisma.blob.findMany({ orderBy: { sha256: 'asc' } })).map((b) => b.sha256), [item.sha256, emptySha256].sort())
    t.same(await domain.blobs.sweep(systemActor), { blobs: 0, staged: 0, restoredEmpty: false }, 'a second sweep finds nothing')
    await t.rejects(domain.blobs.sweep(owner), { code: 'forbidden' })
  })

  t.test(`${kind}: deleting an item while another with the same content is created never loses the content`, async (t) => {
    const { db, domain, storage, ...s } = await seededDomain(t, kind)
    const owner = s.actors.owner
    const bytes = randomBytes(20_000)
    const add = async (name: string) => await domain.projects.addData(owner, s.projectId, { name },
      { blob: await domain.projects.stageData(owner, s.projectId, source(bytes)), mediaType: 'text/plain' })
    let previous = await add('round 0')
    for (let round = 1; round <= 40; round++) {
      const staged = await domain.projects.stageData(owner, s.projectId, source(bytes))
      // The delete's reclaim and the creation's placing meet on the blob's row; the sweep's reclaim joins in three rounds of four.
      const [, created] = await Promise.all([
        domain.projects.removeData(owner, s.projectId, previous.id),
        domain.projects.addData(owner, s.projectId, { name: `round ${round}` }, { blob: staged, mediaType: 'text/plain' }),
        round % 4 === 0 ? Promise.resolve() : domain.blobs.sweep(systemActor)
      ])
      t.ok(await storage.store.has(created.sha256), `round ${round}: the new item's content is there`)
      previous = created
    }
    const rows = await db.prisma.blob.findMany({ where: { sha256: sha256(bytes) } })
    t.equal(rows.length, 1, 'and its row')
    await domain.projects.removeData(owner, s.projectId, previous.id)
    t.notOk(await storage.store.has(sha256(bytes)), 'gone once the last item is')
  })
}
