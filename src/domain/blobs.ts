/**
 * How the database and the blob store (src/storage/) agree, whatever crashes and
 * whichever processes race.
 *
 * - An item is created only once its blob is in place: the transaction that
 *   inserts the item first locks the blob's row (inserting it, or updating it
 *   when it is there: `holdBlob`), then places the file, then inserts the item.
 * - A blob goes only while no item refers to it: `reclaim` locks the blob's row
 *   (inserting one for a file that has none: a crash after placing, before the
 *   commit), checks under that lock that no item refers to it, removes the file,
 *   then deletes the row.
 *
 * Placing and removing a given blob's file therefore happen under the same row
 * lock, one after the other. Deleting an item while another with the same content
 * is created: if the creation locked the row first, the reclaim waits, then sees
 * the new item and keeps the blob; if the reclaim locked it first, it removes the
 * file and the row, and the creation, waiting, inserts a fresh row and places its
 * own copy of the bytes. A PostgreSQL row lock is held by the transaction, not by
 * a process, so this holds across every process sharing the database, and nothing
 * depends on clocks (a grace period for fresh blobs would). The foreign key from
 * an item to its blob (ON DELETE RESTRICT) is the last net: a blob row with an
 * item can never be deleted.
 *
 * The sweep (at start and periodically) reclaims every blob no item refers to,
 * rows and files alike, and removes staged files nobody will place.
 */
import { Readable } from 'node:stream'
import { requireAdmin, type Actor } from './actor.ts'
import { Busy } from './errors.ts'
import { bookkeeping } from './read-model.ts'
import { serialized, type Client } from './transactions.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { emptySha256, type BlobStore, type StagedBlob } from '../storage/blob-store.ts'
import type { UploadStore } from '../storage/upload-store.ts'

/** The blob store, the resumable uploads on their way to it, and the limits on what goes into it, as the server is configured. */
export interface DataStorage {
  store: BlobStore
  uploads: UploadStore
  /** The largest content of one item (DATA_MAX_BYTES). */
  maxBytes: number
  /** The most bytes all the items of one project may hold together (DATA_PROJECT_QUOTA_BYTES). */
  quotaBytes: number
  /** A blob that could not be removed when its last item went: the next sweep removes it. */
  onReclaimError: (error: unknown) => void
}

/**
 * Inside the transaction creating an item: locks the blob's row (creating it) and
 * puts the staged file in place. Another upload of the same bytes waits for this
 * transaction; identical bytes already in place are replaced by themselves.
 */
export async function holdBlob (tx: Client, store: BlobStore, staged: StagedBlob): Promise<void> {
  await tx.$executeRaw`INSERT INTO "blob" (sha256, size) VALUES (${staged.sha256}, ${staged.size})
    ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size`
  await store.place(staged)
}

/** Removes a blob, file and row, unless an item refers to it; answers whether it did. */
export async function reclaim (db: PrismaClient, store: BlobStore, sha256: string): Promise<boolean> {
  return await serialized(db, `blob ${sha256}`, async (tx) => {
    // Locks the row, waiting for a transaction placing this blob; gives a file without a row a row to lock.
    // One statement: a plain insert then a SELECT … FOR UPDATE could find the row deleted between them (by
    // another reclaim) and lock nothing, and this file's removal would then race a creation placing it.
    await tx.$executeRaw`INSERT INTO "blob" (sha256, size) VALUES (${sha256}, 0) ON CONFLICT (sha256) DO UPDATE SET size = "blob".size`
    const [row] = await tx.$queryRaw<Array<{ used: boolean }>>`
      SELECT EXISTS (SELECT 1 FROM "data_item" WHERE blob_sha256 = ${sha256}) AS used`
    if (row!.used) return false
    await store.remove(sha256)
    await tx.$executeRaw`DELETE FROM "blob" WHERE sha256 = ${sha256}`
    return true
  })
}

/** What a sweep removed, and whether it put the empty blob back for items that hold no content. */
export interface SweepReport {
  blobs: number
  staged: number
  restoredEmpty: boolean
}

/** How many blob names the sweep asks the database about at once. */
const sweepBatch = 500

export class Blobs {
  constructor (private readonly db: PrismaClient, private readonly storage: DataStorage) {}

  /**
   * Removes every blob no item refers to and every staged file nobody will place;
   * puts the empty blob in place when items refer to it and it is missing (items
   * recorded before data had content). The server runs it at start and every
   * DATA_SWEEP_INTERVAL_SECONDS; administrators only. No remembered answer reads blobs.
   */
  @bookkeeping
  async sweep (actor: Actor): Promise<SweepReport> {
    requireAdmin(actor, 'sweeping the blob store')
    const { store } = this.storage
    const staged = await store.sweepStaging()
    const candidates = new Set<string>()
    let batch: string[] = []
    const unreferenced = async (): Promise<void> => {
      const used = await this.db.$queryRaw<Array<{ sha256: string }>>`
        SELECT DISTINCT blob_sha256 AS sha256 FROM "data_item" WHERE blob_sha256 = ANY(${batch}::text[])`
      const referenced = new Set(used.map((row) => row.sha256))
      for (const sha256 of batch) if (!referenced.has(sha256)) candidates.add(sha256)
      batch = []
    }
    for await (const sha256 of store.list()) {
      batch.push(sha256)
      if (batch.length >= sweepBatch) await unreferenced()
    }
    if (batch.length > 0) await unreferenced()
    const rows = await this.db.$queryRaw<Array<{ sha256: string }>>`
      SELECT sha256 FROM "blob" b WHERE NOT EXISTS (SELECT 1 FROM "data_item" d WHERE d.blob_sha256 = b.sha256)`
    for (const row of rows) candidates.add(row.sha256)
    let blobs = 0
    for (const sha256 of candidates) {
      try {
        if (await reclaim(this.db, store, sha256)) blobs++
      } catch (error) {
        // Held by an upload longer than a lock wait: the next sweep looks again.
        if (!(error instanceof Busy)) throw error
      }
    }
    return { blobs, staged, restoredEmpty: await this.restoreEmpty() }
  }

  private async restoreEmpty (): Promise<boolean> {
    const { store } = this.storage
    const used = await this.db.dataItem.findFirst({ where: { blobSha256: emptySha256 }, select: { id: true } })
    if (used === null || await store.has(emptySha256)) return false
    const empty = await store.stage(Readable.from([]), { maxBytes: 0 })
    try {
      await serialized(this.db, 'the empty blob', async (tx) => { await holdBlob(tx, store, empty) })
    } finally {
      await store.discard(empty)
    }
    return true
  }
}
