/**
 * Resumable uploads (TUS 1.0, `/uploads`) as files, kept by `@tus/file-store`
 * under `<root>/uploads/`: `<id>` holds the bytes received so far (its size is
 * the upload's offset) and `<id>.json` what the upload was created with (its
 * length, its metadata, its creation date). The root is STORAGE_DIR (or DATA_DIR),
 * as for blobs, so that every server process sharing it sees every upload.
 *
 * An upload becomes a data item once (src/domain/projects.ts): `claim` renames
 * `<id>` to `<id>.claimed`, which only one caller can do, in any process on any
 * host sharing the directory (a rename is atomic, and the second finds no `<id>`);
 * then the claimed bytes are either released (the item holds a copy) or restored
 * for another try (the item was refused). Everything of an upload goes once it has
 * expired, UPLOAD_EXPIRY_SECONDS after its creation, with the sweep.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync } from 'node:fs'
import { readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { FileStore } from '@tus/file-store'

/** An upload's id, as `newUploadId` makes them: 32 lower-case hex digits (128 random bits). */
export const uploadIdPattern = /^[0-9a-f]{32}$/

export function newUploadId (): string {
  return randomBytes(16).toString('hex')
}

/**
 * The metadata key naming an upload's owner: set by the server at creation, over
 * whatever a client sent under it, and never taken from anywhere else.
 */
const uploaderKey = 'mobyle2_uploader'

export type UploadMetadata = Record<string, string | null>

/** The metadata to record for a new upload: the client's, with `uploader` as its owner. */
export function withUploader (metadata: UploadMetadata | undefined, uploader: number): UploadMetadata {
  return { ...metadata, [uploaderKey]: String(uploader) }
}

export interface StoredUpload {
  id: string
  /** The user who created it. */
  uploader: number
  /** The length declared; undefined while it is deferred. */
  length: number | undefined
  /** The bytes received so far. */
  offset: number
  metadata: UploadMetadata
  expired: boolean
}

/** An upload taken out of reach of every other request: its bytes, then released or restored. */
export interface ClaimedUpload {
  read: () => Readable
  /** Forgets the upload. Never fails: whatever stays behind goes with the sweep once the upload has expired. */
  release: () => Promise<void>
  /** Puts the upload back as it was, unless it has expired and been swept meanwhile. Never fails, as `release`. */
  restore: () => Promise<void>
}

export interface UploadStore {
  /** The upload, whole: undefined when it does not exist (or is claimed right now). */
  find: (id: string) => Promise<StoredUpload | undefined>
  /** Takes the upload for one caller; undefined when another took it first, or it is gone. */
  claim: (id: string) => Promise<ClaimedUpload | undefined>
  /** Removes every expired upload; answers how many. */
  sweep: () => Promise<number>
}

/** What `@tus/file-store` writes in `<id>.json`. */
interface UploadRecord {
  size?: number
  metadata?: UploadMetadata
  creation_date?: string
}

export class FileUploadStore implements UploadStore {
  /** The store the TUS protocol handler writes to. */
  readonly datastore: FileStore
  private readonly directory: string
  private readonly expiryMs: number

  constructor (root: string, { expirySeconds }: { expirySeconds: number }) {
    this.directory = join(resolve(root), 'uploads')
    this.expiryMs = expirySeconds * 1000
    // Made here, synchronously, where a failure is the caller's error: FileStore's constructor makes
    // it again with a callback that would throw an uncaught exception.
    mkdirSync(this.directory, { recursive: true })
    this.datastore = new FileStore({ directory: this.directory, expirationPeriodInMilliseconds: this.expiryMs })
  }

  async find (id: string): Promise<StoredUpload | undefined> {
    if (!uploadIdPattern.test(id)) return undefined
    const record = await this.record(id)
    const uploader = Number(record?.metadata?.[uploaderKey])
    if (record === undefined || !Number.isSafeInteger(uploader)) return undefined
    let offset: number
    try {
      offset = (await stat(join(this.directory, id))).size
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
    return {
      id,
      uploader,
      length: record.size,
      offset,
      metadata: record.metadata ?? {},
      expired: this.expired(createdAt(record) ?? Infinity)
    }
  }

  async claim (id: string): Promise<ClaimedUpload | undefined> {
    if (!uploadIdPattern.test(id)) return undefined
    const file = join(this.directory, id)
    const claimed = `${file}.claimed`
    try {
      await rename(file, claimed)
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
    return {
      read: () => createReadStream(claimed),
      release: async () => {
        for (const path of [claimed, `${file}.json`]) await unlink(path).catch(() => {})
      },
      restore: async () => { await rename(claimed, file).catch(() => {}) }
    }
  }

  /**
   * `@tus/file-store`'s own `deleteExpired` is not used: it gives up on the first
   * upload another process removed meanwhile, and never sees what a crash left
   * behind (a record without its bytes, bytes claimed but never released). This
   * takes the files of each upload together: they go once it has expired, by its
   * record's creation date, or without a record by its files' last change.
   */
  async sweep (): Promise<number> {
    const uploads = new Map<string, string[]>()
    for (const name of await entries(this.directory)) {
      const id = name.split('.')[0]!
      if (uploadIdPattern.test(id)) uploads.set(id, [...uploads.get(id) ?? [], name])
    }
    let removed = 0
    for (const [id, names] of uploads) {
      const record = names.includes(`${id}.json`) ? await this.record(id) : undefined
      if (!this.expired(createdAt(record) ?? await this.lastChange(names))) continue
      // The record last: an upload half removed still reads as one that no longer exists.
      for (const name of names.sort((a, b) => Number(a.endsWith('.json')) - Number(b.endsWith('.json')))) {
        await unlink(join(this.directory, name)).catch(ignoreMissing)
      }
      removed++
    }
    return removed
  }

  /** Whether an upload created (or, without a record, last changed) at `since`, in ms since the epoch, has expired. */
  private expired (since: number): boolean {
    return Date.now() > since + this.expiryMs
  }

  /** When the files last changed; now when none is left (another sweep removed them). */
  private async lastChange (names: string[]): Promise<number> {
    let latest = -Infinity
    for (const name of names) {
      try {
        latest = Math.max(latest, (await stat(join(this.directory, name))).mtimeMs)
      } catch (error) {
        if (!isMissing(error)) throw error
      }
    }
    return Number.isFinite(latest) ? latest : Date.now()
  }

  private async record (id: string): Promise<UploadRecord | undefined> {
    let text: string
    try {
      text = await readFile(join(this.directory, `${id}.json`), 'utf8')
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
    try {
      return JSON.parse(text) as UploadRecord
    } catch {
      // Being written right now, or cut short by a crash: no upload yet, or one the sweep removes.
      return undefined
    }
  }
}

/** When the upload was created, in ms since the epoch, if its record says. */
function createdAt (record: UploadRecord | undefined): number | undefined {
  const created = Date.parse(record?.creation_date ?? '')
  return Number.isFinite(created) ? created : undefined
}

async function entries (dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
}

function isMissing (error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

function ignoreMissing (error: unknown): void {
  if (!isMissing(error)) throw error
}
