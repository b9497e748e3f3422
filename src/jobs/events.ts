/**
 * Jobs' transitions as they happen, for their event streams (server-sent events,
 * src/rest/projects/job-streams.ts), in every server process: each commit that
 * adds transitions announces `job_event` (the change feed, whichever process
 * wrote), and one query then fetches the new transitions of every job some
 * stream of this process follows.
 */
import type { ChangeFeed } from '../db/changes.ts'
import type { JobEvent, JobQueue } from '../domain/job-queue.ts'

type Follower = (events: JobEvent[]) => void

export class JobEvents {
  private readonly followers = new Map<number, Set<{ after: bigint, send: Follower }>>()
  private fetching: Promise<void> | undefined
  private fetchAgain = false
  private readonly unsubscribe: () => void

  constructor (private readonly queue: JobQueue, feed: ChangeFeed, private readonly onError: (error: unknown) => void) {
    this.unsubscribe = feed.subscribe({
      changed: (change) => {
        if (change.kind === 'data' && (change.table === undefined || change.table === 'job_event')) this.fetch()
      },
      deaf: () => {},
      // What was committed while it was not heard is fetched now.
      hearing: () => { this.fetch() }
    })
  }

  /**
   * Sends `job`'s transitions after event `after` (0: all of them) to `send`, now
   * and as they come, until the returned function is called.
   */
  follow (job: number, after: bigint, send: Follower): () => void {
    const follower = { after, send }
    let set = this.followers.get(job)
    if (set === undefined) this.followers.set(job, set = new Set())
    set.add(follower)
    this.fetch()
    return () => {
      set.delete(follower)
      if (set.size === 0) this.followers.delete(job)
    }
  }

  close (): void {
    this.unsubscribe()
    this.followers.clear()
  }

  /** One query for every followed job since the oldest event any of its followers has; a call meanwhile fetches once more after. */
  private fetch (): void {
    if (this.fetching !== undefined) {
      this.fetchAgain = true
      return
    }
    this.fetching = (async () => {
      do {
        this.fetchAgain = false
        if (this.followers.size === 0) return
        let oldest: bigint | undefined
        for (const set of this.followers.values()) for (const { after } of set) if (oldest === undefined || after < oldest) oldest = after
        const events = await this.queue.eventsSince(oldest ?? 0n, [...this.followers.keys()])
        for (const [job, set] of this.followers) {
          const mine = events.filter((event) => event.jobId === job)
          for (const follower of set) {
            const fresh = mine.filter((event) => event.id > follower.after)
            if (fresh.length === 0) continue
            follower.after = fresh.at(-1)!.id
            follower.send(fresh)
          }
        }
      } while (this.fetchAgain)
    })().catch(this.onError).finally(() => { this.fetching = undefined })
  }
}
