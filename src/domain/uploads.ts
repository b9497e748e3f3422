/**
 * Resumable uploads (TUS 1.0, served by src/rest/uploads.ts): who may make one,
 * and who may see it. Any active user uploads; an upload is its uploader's alone:
 * anyone else, administrators included, meets what an upload that does not exist
 * meets. A finished upload becomes a data item through `Projects.addDataFromUpload`.
 */
import { hide, requireAdmin, requireUser, type Actor } from './actor.ts'
import type { DataStorage } from './blobs.ts'
import { Invalid } from './errors.ts'
import { bookkeeping, uncached } from './read-model.ts'
import { MediaType, validatorOf } from './schemas.ts'
import { withUploader, type StoredUpload, type UploadMetadata, type UploadStore } from '../storage/upload-store.ts'

export class Uploads {
  constructor (private readonly storage: DataStorage) {}

  /** The user an upload request is made by: an active one (anonymous callers are told to authenticate, refused accounts are refused). */
  @uncached
  async uploader (actor: Actor): Promise<number> {
    return requireUser(actor, 'uploading').id
  }

  /**
   * What a new upload of the actor's records: the client's metadata, its
   * `filetype` (the item's media type to be) checked now rather than once every
   * byte has arrived, and the actor as its owner.
   */
  @uncached
  async metadataFor (actor: Actor, given: UploadMetadata | undefined): Promise<UploadMetadata> {
    const uploader = await this.uploader(actor)
    const type = given?.filetype ?? ''
    // The check is a type guard: past a refusal it would call `type` never.
    const text = type
    if (type !== '' && !validatorOf(MediaType).Check(type)) {
      throw Invalid.field('upload', 'filetype', `"${text}" is not a media type (type/subtype, RFC 9110)`)
    }
    return withUploader(given, uploader)
  }

  /** An upload of the actor's, as it is stored; anyone else's is one that does not exist. */
  @uncached
  async get (actor: Actor, id: string): Promise<StoredUpload> {
    return await ownUpload(this.storage.uploads, actor, id)
  }

  /** Removes the uploads that have expired (administrators: the server's sweep); answers how many. */
  @bookkeeping
  async sweep (actor: Actor): Promise<number> {
    requireAdmin(actor, 'sweeping uploads')
    return await this.storage.uploads.sweep()
  }
}

/** An upload of the actor's; NotFound for one of anyone else's, as for none. */
export async function ownUpload (store: UploadStore, actor: Actor, id: string): Promise<StoredUpload> {
  const user = requireUser(actor, 'using an upload')
  const upload = await store.find(id)
  if (upload === undefined || upload.uploader !== user.id) hide('upload', id)
  return upload
}
