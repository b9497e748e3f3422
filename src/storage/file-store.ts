/**
 * Blobs as files: `<root>/blobs/sha256/<first two hex digits>/<sha256>`, staged in
 * `<root>/blobs/tmp/` on the same filesystem so that placing is one rename. The
 * root is STORAGE_DIR (or DATA_DIR); several server processes, on several hosts,
 * may share it.
 *
 * A staged file is named `<host>.<pid>.<random>`: a process knows its own uploads
 * in flight, a process on the same host can tell whether the writer still runs,
 * and anything else is stale once it has not been written to for `staleAfterMs`
 * (an upload writes as its body arrives, and a body takes at most
 * REQUEST_TIMEOUT_SECONDS to arrive).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BlobTooLarge, sha256Pattern, type BlobLocation, type BlobStore, type StagedBlob } from './blob-store.ts'

/** This host as a file name part: no dots (they separate the parts), nothing but letters, digits and hyphens. */
const hostTag = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host'

interface StagedFile extends StagedBlob {
  readonly file: string
}

export interface FileBlobStoreOptions {
  /** How long a staged file of another host's process may go unwritten before it counts as abandoned. */
  staleAfterMs: number
}

export class FileBlobStore implements BlobStore {
  private readonly blobs: string
  private readonly staging: string
  /** This process's staged files not yet placed or discarded. */
  private readonly inFlight = new Set<string>()

  constructor (root: string, private readonly options: FileBlobStoreOptions) {
    this.blobs = join(resolve(root), 'blobs', 'sha256')
    this.staging = join(resolve(root), 'blobs', 'tmp')
  }

  async stage (source: Readable, { maxBytes }: { maxBytes: number }): Promise<StagedBlob> {
    await mkdir(this.staging, { recursive: true })
    const file = join(this.staging, `${hostTag}.${process.pid}.${randomBytes(12).toString('hex')}`)
    this.inFlight.add(file)
    const hash = createHash('sha256')
    let size = 0
    const counted = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        size += chunk.length
        if (size > maxBytes) {
          done(new BlobTooLarge(maxBytes))
          return
        }
        hash.update(chunk)
        done(null, chunk)
      }
    })
    try {
      // Opened first, so that a stream broken off at once leaves no file being created behind the removal below;
      // flush: fsynced before it is closed, and the pipeline ends once it is closed.
      const sink = (await open(file, 'wx')).createWriteStream({ flush: true })
      await pipeline(source, counted, sink)
    } catch (error) {
      await this.forget(file)
      throw error
    }
    const staged: StagedFile = { sha256: hash.digest('hex'), size, file }
    return staged
  }

  async place (staged: StagedBlob): Promise<void> {
    const { file, sha256 } = staged as StagedFile
    const dir = join(this.blobs, sha256.slice(0, 2))
    const created = await mkdir(dir, { recursive: true })
    await rename(file, join(dir, sha256))
    this.inFlight.delete(file)
    // The rename is durable once the directory holding the new name is; a new directory once its parent is.
    await syncDirectory(dir)
    if (created === undefined) return
    for (let made = dir; ; made = dirname(made)) {
      await syncDirectory(dirname(made))
      if (made === created) break
    }
  }

  async discard (staged: StagedBlob): Promise<void> {
    await this.forget((staged as StagedFile).file)
  }

  async has (sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile()
    } catch (error) {
      if (isMissing(error)) return false
      throw error
    }
  }

  async remove (sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch(ignoreMissing)
  }

  async * list (): AsyncIterable<string> {
    for (const prefix of await entries(this.blobs)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue
      for (const name of await entries(join(this.blobs, prefix))) {
        if (sha256Pattern.test(name) && name.startsWith(prefix)) yield name
      }
    }
  }

  async sweepStaging (): Promise<number> {
    let removed = 0
    for (const name of await entries(this.staging)) {
      const file = join(this.staging, name)
      if (this.inFlight.has(file) || !await this.abandoned(name, file)) continue
      await unlink(file).catch(ignoreMissing)
      removed++
    }
    return removed
  }

  locate (sha256: string): BlobLocation {
    return { root: this.blobs, path: `/${sha256.slice(0, 2)}/${sha256}` }
  }

  private pathOf (sha256: string): string {
    if (!sha256Pattern.test(sha256)) throw new Error(`not a sha256: ${sha256}`)
    return join(this.blobs, sha256.slice(0, 2), sha256)
  }

  private async forget (file: string): Promise<void> {
    this.inFlight.delete(file)
    await unlink(file).catch(ignoreMissing)
  }

  /** Whether nobody will place this staged file: see the module's comment. */
  private async abandoned (name: string, file: string): Promise<boolean> {
    const [host, pid] = name.split('.')
    if (host === hostTag && pid !== undefined && /^[0-9]+$/.test(pid)) {
      // Not in flight here: a previous process that had this pid (a container's pid 1) left it.
      if (Number(pid) === process.pid) return true
      if (!processRuns(Number(pid))) return true
    }
    try {
      return Date.now() - (await stat(file)).mtimeMs > this.options.staleAfterMs
    } catch (error) {
      if (isMissing(error)) return false
      throw error
    }
  }
}

function processRuns (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function syncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** The names in a directory; none when it is not there (yet, or any more). */
export async function entries (dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
}

export function isMissing (error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

export function ignoreMissing (error: unknown): void {
  if (!isMissing(error)) throw error
}
