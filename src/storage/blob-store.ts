/**
 * Where data items' bytes live: content-addressed blobs, named by their sha256.
 *
 * A blob arrives in two steps so that the database and the store can agree after
 * any crash (src/domain/blobs.ts): `stage` writes the bytes under a temporary name
 * while hashing and counting them (nothing under a real name yet), and `place`
 * puts them under their real name, durably, while the caller holds the blob's row
 * lock. The filesystem store (src/storage/file-store.ts) is the only one today; an
 * S3-compatible store would stage to a temporary key and place by copying, and
 * serve reads by ranged GETs instead of a path.
 */
import type { Readable } from 'node:stream'

/** Bytes written under a temporary name, hashed and counted; placed or discarded by its store. */
export interface StagedBlob {
  readonly sha256: string
  readonly size: number
}

/** Where `@fastify/send` finds a blob: a path (of hex digits and slashes only) below a root directory. */
export interface BlobLocation {
  root: string
  path: string
}

/** A stream longer than the limit it was staged with; nothing of it was kept. */
export class BlobTooLarge extends Error {
  override name = 'BlobTooLarge'
  constructor (readonly maxBytes: number) {
    super(`the content is larger than ${maxBytes} bytes`)
  }
}

export interface BlobStore {
  /**
   * Copies `source` to a temporary name while hashing it; refuses (BlobTooLarge)
   * as soon as it passes `maxBytes`, and keeps nothing when it fails or `source`
   * breaks off.
   */
  stage: (source: Readable, options: { maxBytes: number }) => Promise<StagedBlob>
  /** Puts staged bytes under their real name, durably; identical bytes already there are replaced by themselves. */
  place: (staged: StagedBlob) => Promise<void>
  /** Forgets staged bytes that will not be placed; doing it twice, or after `place`, does nothing. */
  discard: (staged: StagedBlob) => Promise<void>
  has: (sha256: string) => Promise<boolean>
  /** Removes a blob; one that is not there is no error. */
  remove: (sha256: string) => Promise<void>
  /** The name of every blob present, in no particular order. */
  list: () => AsyncIterable<string>
  /** Removes staged bytes that no upload will place any more (their writer is gone); answers how many. */
  sweepStaging: () => Promise<number>
  locate: (sha256: string) => BlobLocation
}

/** A sha256 as the store names blobs: 64 lower-case hex digits. */
export const sha256Pattern = /^[0-9a-f]{64}$/

/** The sha256 of no bytes at all: what an item created without content holds. */
export const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
