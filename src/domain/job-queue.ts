/**
 * The job row is the queue: the dispatchers of every process sharing the database
 * (src/jobs/dispatcher.ts) claim queued rows with `FOR UPDATE SKIP LOCKED`, so each
 * job is claimed by exactly one of them, and every transition is one statement
 * that also appends the job's history (`job_event`), so the two never disagree.
 *
 * Why rows and not a queue library (pg-boss, graphile-worker): the job row already
 * holds what users read (state, reason, history) and must change with each step; a
 * second queue in the same database would have to be kept in step with it, in
 * every process, across crashes. A claim here is a single UPDATE.
 *
 * Each claim raises the job's `attempt`; a result is recorded only by the process
 * that holds the current attempt of a running job (the fence), so a process that
 * was given up for lost cannot overwrite what happened since.
 *
 * The queue is the system's: it checks no actor. Users reach jobs through
 * `Projects` (src/domain/projects.ts).
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import type { ErrorReason, RunOutcome } from '../jobs/executor.ts'
import { bookkeeping, uncached, writes } from './read-model.ts'

export type JobState = 'queued' | 'running' | 'ok' | 'error' | 'cancelled'

/** Every transition a job may take; a test tries all the others. */
export const transitions: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['running', 'cancelled'],
  running: ['ok', 'error', 'cancelled'],
  ok: [],
  error: [],
  cancelled: []
}

export const finalStates: readonly JobState[] = ['ok', 'error', 'cancelled']

/** What a dispatcher needs of a job it claimed. */
export interface ClaimedJob {
  id: number
  attempt: number
  projectId: number
  serviceId: number | null
  inputs: unknown
}

/** A job's attempt as its holder names it when it records what happened. */
export interface Held {
  id: number
  attempt: number
}

export class JobQueue {
  constructor (private readonly db: PrismaClient) {}

  /**
   * Whether any job waits. Asked before claiming: a claim that finds nothing would
   * still be a statement on the job table, whose change notice wakes every other
   * dispatcher to claim in turn.
   */
  @uncached
  async anyQueued (): Promise<boolean> {
    const [row] = await this.db.$queryRaw<Array<{ queued: boolean }>>`SELECT EXISTS (SELECT 1 FROM "job" WHERE state = 'queued') AS queued`
    return row!.queued
  }

  /**
   * Claims up to `limit` queued jobs, oldest first, for `worker` (the process)
   * running them on `executor`: each becomes running, its attempt raised. Jobs
   * another dispatcher is claiming at the same moment are skipped, not waited for.
   */
  @writes('job', 'job_event')
  async claim (worker: string, executor: string, limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return []
    return await this.db.$queryRaw<ClaimedJob[]>`
      WITH claimed AS (
        UPDATE "job" SET state = 'running', attempt = attempt + 1, claimed_by = ${worker}, executor = ${executor},
          started_at = now() AT TIME ZONE 'UTC'
        WHERE id IN (SELECT id FROM "job" WHERE state = 'queued' ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING id, attempt, project_id, service_id, inputs),
      noted AS (INSERT INTO "job_event" (job_id, state, at) SELECT id, 'running', now() AT TIME ZONE 'UTC' FROM claimed)
      SELECT id, attempt, project_id AS "projectId", service_id AS "serviceId", inputs FROM claimed ORDER BY id`
  }

  /** Records what the executor knows the run by, to follow or cancel it later; false when the attempt is no longer held. */
  @bookkeeping
  async started (held: Held, handle: string): Promise<boolean> {
    const count = await this.db.$executeRaw`
      UPDATE "job" SET handle = ${handle} WHERE id = ${held.id} AND attempt = ${held.attempt} AND state = 'running'`
    return count === 1
  }

  /**
   * Records how a held attempt ended; false (and nothing written) when it is no
   * longer held: the job was given up for lost, or cancelled and ended meanwhile.
   */
  @writes('job', 'job_event')
  async finish (held: Held, outcome: RunOutcome): Promise<boolean> {
    const reason: ErrorReason | null = outcome.state === 'error' ? outcome.reason : null
    const exitCode = outcome.state === 'cancelled' ? null : outcome.exitCode
    const message = outcome.state === 'ok' ? '' : outcome.message.slice(0, 2000)
    const rows = await this.db.$queryRaw<Array<{ id: number }>>`
      WITH ended AS (
        UPDATE "job" SET state = ${outcome.state}::"JobState", reason = ${reason}, exit_code = ${exitCode}, message = ${message},
          finished_at = now() AT TIME ZONE 'UTC'
        WHERE id = ${held.id} AND attempt = ${held.attempt} AND state = 'running'
        RETURNING id, state, reason),
      noted AS (INSERT INTO "job_event" (job_id, state, reason, at) SELECT id, state, reason, now() AT TIME ZONE 'UTC' FROM ended)
      SELECT id FROM ended`
    return rows.length === 1
  }

  /**
   * Tells the database that `worker` is alive (and so are the jobs it runs). A
   * row per process, in a table that announces no changes: nobody's remembered
   * answer shows it, and a heartbeat wakes no other process.
   */
  @bookkeeping
  async heartbeat (worker: string): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO "worker" (name, started_at, seen_at) VALUES (${worker}, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
      ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at`
  }

  /** The attempts `worker` holds whose cancellation was asked for. */
  @uncached
  async cancelRequested (worker: string): Promise<Held[]> {
    return await this.db.$queryRaw<Held[]>`
      SELECT id, attempt FROM "job" WHERE claimed_by = ${worker} AND state = 'running' AND cancel_requested`
  }

  /**
   * Ends as error/lost every running job whose process has not been heard of for
   * `silentSeconds` (it was killed, its host lost), on the database's clock, and
   * forgets such processes; answers the jobs it ended. It writes the job table only
   * when there are such jobs (see `anyQueued`).
   */
  @writes('job', 'job_event')
  async reapLost (silentSeconds: number): Promise<number[]> {
    await this.db.$executeRaw`DELETE FROM "worker" WHERE seen_at <= now() AT TIME ZONE 'UTC' - make_interval(secs => ${silentSeconds})`
    const orphaned = Prisma.sql`j.state = 'running' AND NOT EXISTS (SELECT 1 FROM "worker" w WHERE w.name = j.claimed_by)`
    const [found] = await this.db.$queryRaw<Array<{ any: boolean }>>`SELECT EXISTS (SELECT 1 FROM "job" j WHERE ${orphaned}) AS any`
    if (!found!.any) return []
    const rows = await this.db.$queryRaw<Array<{ id: number }>>`
      WITH lost AS (
        UPDATE "job" j SET state = 'error', reason = 'lost', finished_at = now() AT TIME ZONE 'UTC',
          message = 'the process running it (' || coalesce(j.claimed_by, 'unknown') || ') stopped before it ended'
        WHERE ${orphaned}
        RETURNING j.id),
      noted AS (INSERT INTO "job_event" (job_id, state, reason, at) SELECT id, 'error', 'lost', now() AT TIME ZONE 'UTC' FROM lost)
      SELECT id FROM lost ORDER BY id`
    return rows.map((row) => row.id)
  }

  /**
   * Cancels a job (see `cancelJob`): the dispatchers' side, for any job.
   */
  @writes('job', 'job_event')
  async cancel (jobId: number): Promise<CancelOutcome> {
    return (await cancelJob(this.db, jobId)).outcome
  }
}

/** What a cancellation found: `final` for a job already ended, `absent` for none (in that project). */
export type CancelOutcome = 'cancelled' | 'asked' | 'final' | 'absent'

/**
 * Cancels a job: a queued one at once; a running one is asked to stop (its
 * holder's next heartbeat hears it, and records it cancelled once its program is
 * gone). One statement, shared by the queue and by users' cancellations
 * (`Projects.cancelJob`, which names the job's project: a job of another answers
 * `absent`). Answers what it found, and the state the job was in.
 */
export async function cancelJob (db: Pick<PrismaClient, '$queryRaw'>, jobId: number, projectId?: number):
Promise<{ outcome: CancelOutcome, state: JobState | null }> {
  const inProject = projectId === undefined ? Prisma.sql`true` : Prisma.sql`project_id = ${projectId}`
  for (;;) {
    const [row] = await db.$queryRaw<Array<{ dequeued: boolean, asked: boolean, state: JobState | null }>>`
      WITH dequeued AS (
        UPDATE "job" SET state = 'cancelled', finished_at = now() AT TIME ZONE 'UTC', message = 'cancelled before it ran'
        WHERE id = ${jobId} AND ${inProject} AND state = 'queued' RETURNING id),
      noted AS (INSERT INTO "job_event" (job_id, state, at) SELECT id, 'cancelled', now() AT TIME ZONE 'UTC' FROM dequeued),
      asked AS (UPDATE "job" SET cancel_requested = true WHERE id = ${jobId} AND ${inProject} AND state = 'running' RETURNING id)
      SELECT EXISTS (SELECT 1 FROM dequeued) AS dequeued, EXISTS (SELECT 1 FROM asked) AS asked,
        (SELECT state::text FROM "job" WHERE id = ${jobId} AND ${inProject}) AS state`
    const state = row!.state
    if (row!.dequeued) return { outcome: 'cancelled', state }
    if (row!.asked) return { outcome: 'asked', state }
    if (state === null) return { outcome: 'absent', state }
    if (finalStates.includes(state)) return { outcome: 'final', state }
    // Claimed (or ended) while this statement ran: it saw the job as it was before. Once more, as it is now.
  }
}
