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
import { changeChannel } from '../db/changes.ts'
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts'
import type { ErrorReason, RunOutcome } from '../jobs/executor.ts'
import type { StagedBlob } from '../storage/blob-store.ts'
import { holdBlob, type DataStorage } from './blobs.ts'
import { compiledInterface } from './interfaces/load.ts'
import { filesOf, type JobInputs, type Tool } from './interfaces/tool.ts'
import { bookkeeping, systemWrites, uncached, writes } from './read-model.ts'
import { serialized } from './transactions.ts'

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
  submitterId: number | null
  inputs: unknown
  /** Its service's interface as the claim found it; null when the service has none any more (or is gone). */
  interfaceDocument: unknown
}

/** A running job whose run a dispatcher takes over from a process gone silent: the attempt it now holds, and the run to follow. */
export interface AdoptedJob extends ClaimedJob {
  /** What the executor knows the run by. */
  handle: string
  /** The attempt that started the run (whose directory it uses): recorded with its handle. */
  runAttempt: number
  /** Whether a user asked to cancel it, maybe while nobody followed it. */
  cancelRequested: boolean
}

/** One transition of a job, as its event stream sends it. */
export interface JobEvent {
  id: bigint
  jobId: number
  state: JobState
  reason: string | null
  at: Date
}

/** A job's attempt as its holder names it when it records what happened. */
export interface Held {
  id: number
  attempt: number
}

/** A running job whose process went silent, ended error/lost: who ran it, on which executor, known there as `handle`. */
export interface LostJob extends Held {
  claimedBy: string | null
  executor: string | null
  handle: string | null
}

/** An executor as the database sees it: its waiting and running jobs, and the processes that run it. */
export interface ExecutorAtWork {
  executor: string
  queued: number
  running: number
  /** The processes that run it; `problem`, what one of them found wrong with it at its last beat. */
  workers: Array<{ name: string, seenAt: Date, problem?: string }>
}

/** What a held job runs: its service's interface, its inputs, and the data items its File inputs name. */
export interface Runnable {
  projectId: number
  submitterId: number | null
  /** Undefined when the service lost its interface (or the service is gone) since the job was queued. */
  tool: Tool | undefined
  inputs: JobInputs
  files: Array<{ id: number, name: string, sha256: string }>
}

/** A file an ended run produced, staged in the blob store, to become a data item of the job's project. */
export interface Product {
  output: string
  name: string
  staged: StagedBlob
  mediaType: string
  format?: string
}

export class JobQueue {
  constructor (private readonly db: PrismaClient, private readonly storage: DataStorage) {}

  /**
   * Whether any job waits for `executor`. Asked before claiming: a claim that finds
   * nothing would still be a statement on the job table, whose change notice wakes
   * every other dispatcher to claim in turn.
   */
  @uncached
  async anyQueued (executor: string): Promise<boolean> {
    const [row] = await this.db.$queryRaw<Array<{ queued: boolean }>>`
      SELECT EXISTS (SELECT 1 FROM "job" WHERE state = 'queued' AND executor = ${executor}) AS queued`
    return row!.queued
  }

  /**
   * Claims up to `limit` of the jobs queued for `executor` (their route chose it),
   * oldest first, for `worker` (the process) running them: each becomes running,
   * its attempt raised. Jobs another dispatcher is claiming at the same moment are
   * skipped, not waited for. Each comes with its service's interface, read by the
   * same statement: what it runs needs no other question (`runnable`) unless it
   * takes files.
   */
  @systemWrites('job', 'job_event')
  async claim (worker: string, executor: string, limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return []
    return await this.db.$queryRaw<ClaimedJob[]>`
      WITH claimed AS (
        UPDATE "job" SET state = 'running', attempt = attempt + 1, claimed_by = ${worker}, started_at = now() AT TIME ZONE 'UTC'
        WHERE id IN (SELECT id FROM "job" WHERE state = 'queued' AND executor = ${executor} ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING id, attempt, project_id, service_id, submitter_id, inputs),
      noted AS (INSERT INTO "job_event" (job_id, state, at) SELECT id, 'running', now() AT TIME ZONE 'UTC' FROM claimed)
      SELECT c.id, c.attempt, c.project_id AS "projectId", c.service_id AS "serviceId", c.submitter_id AS "submitterId", c.inputs,
        s.interface AS "interfaceDocument"
      FROM claimed c LEFT JOIN "service" s ON s.id = c.service_id ORDER BY c.id`
  }

  /** Records what the executor knows the run by, to follow or cancel it later; false when the attempt is no longer held. */
  @bookkeeping
  async started (held: Held, handle: string): Promise<boolean> {
    const count = await this.db.$executeRaw`
      UPDATE "job" SET handle = ${handle}, run_attempt = attempt WHERE id = ${held.id} AND attempt = ${held.attempt} AND state = 'running'`
    return count === 1
  }

  /**
   * What a claimed job runs: the interface its claim read, and the data items its File inputs name (the only
   * question asked here, and only for such inputs). A job given up since it was claimed still gets its
   * answer: its run's start and end are fenced by its attempt (`started`, `finish`).
   */
  @uncached
  async runnable (job: ClaimedJob): Promise<Runnable> {
    const inputs = job.inputs as JobInputs
    const tool = job.interfaceDocument === null || job.interfaceDocument === undefined ? undefined : compiledInterface(job.interfaceDocument).tool
    const ids = tool === undefined ? [] : tool.inputs.flatMap((input) => filesOf(input.type, inputs[input.id]).map((file) => Number(file.data)))
    const files = ids.length === 0
      ? []
      : await this.db.dataItem.findMany({ where: { projectId: job.projectId, id: { in: ids } }, select: { id: true, name: true, blobSha256: true } })
    return {
      projectId: job.projectId,
      submitterId: job.submitterId,
      tool,
      inputs,
      files: files.map((file) => ({ id: file.id, name: file.name, sha256: file.blobSha256 }))
    }
  }

  /**
   * Records how a held attempt ended, with the data items its outputs became (in
   * one transaction: the items exist exactly when the ending is recorded); false,
   * and nothing written, when it is no longer held: the job was given up for lost,
   * or cancelled and ended meanwhile. Outputs past the project's quota end the job
   * error/output-limit, keeping none of them.
   */
  @systemWrites('job', 'job_event', 'data_item', 'blob')
  async finish (held: Held, outcome: RunOutcome, products: readonly Product[] = []): Promise<boolean> {
    // Without outputs there is no item to create nor quota to check: the fenced statement alone, not a
    // transaction of six (each statement costs the embedded database's one thread; bench/jobs.ts).
    if (products.length === 0) return await recordEnding(this.db, held, outcome, {})
    return await serialized(this.db, `job ${held.id}`, async (tx) => {
      const [job] = await tx.$queryRaw<Array<{ projectId: number, submitterId: number | null }>>`
        SELECT project_id AS "projectId", submitter_id AS "submitterId" FROM "job"
        WHERE id = ${held.id} AND attempt = ${held.attempt} AND state = 'running' FOR UPDATE`
      if (job === undefined) return false
      let ending = outcome
      const outputs: Record<string, number[]> = {}
      const adding = products.reduce((sum, product) => sum + product.staged.size, 0)
      const [used] = await tx.$queryRaw<Array<{ bytes: bigint }>>`
        SELECT coalesce(sum(size), 0)::bigint AS bytes FROM "data_item" WHERE project_id = ${job.projectId}`
      if (Number(used!.bytes) + adding > this.storage.quotaBytes) {
        ending = { state: 'error', reason: 'output-limit', exitCode: outcome.state === 'cancelled' ? null : outcome.exitCode,
          message: `its outputs (${adding} bytes) pass the project's quota of ${this.storage.quotaBytes} bytes: none kept` }
      } else {
        for (const product of products) {
          await holdBlob(tx, this.storage.store, product.staged)
          const item = await tx.dataItem.create({
            data: {
              projectId: job.projectId, name: product.name, blobSha256: product.staged.sha256, size: product.staged.size,
              mediaType: product.mediaType, format: product.format ?? null, uploaderId: job.submitterId, jobId: held.id
            },
            select: { id: true }
          })
          ;(outputs[product.output] ??= []).push(item.id)
        }
      }
      return await recordEnding(tx, held, ending, outputs)
    })
  }

  /**
   * Tells the database that `worker` is alive (and so are the jobs it runs). A
   * row per process, in a table that announces no changes: nobody's remembered
   * answer shows it, and a heartbeat wakes no other process.
   */
  @bookkeeping
  async heartbeat (worker: string, executor = 'local', problem?: string): Promise<void> {
    const problems = problem === undefined ? Prisma.sql`'{}'::jsonb` : Prisma.sql`jsonb_build_object(${executor}::text, ${problem}::text)`
    await this.db.$executeRaw`
      INSERT INTO "worker" (name, executors, problems, started_at, seen_at)
      VALUES (${worker}, ARRAY[${executor}]::varchar[], ${problems}, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
      ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at,
        executors = CASE WHEN ${executor} = ANY("worker".executors) THEN "worker".executors ELSE array_append("worker".executors, ${executor}::varchar) END,
        problems = ("worker".problems - ${executor}::text) || ${problems}`
  }

  /** For each executor jobs were sent to: how many of its jobs wait and run, and the processes that run it and when each was last heard of. */
  @uncached
  async executorsAtWork (): Promise<ExecutorAtWork[]> {
    const counts = await this.db.$queryRaw<Array<{ executor: string, queued: number, running: number }>>`
      SELECT executor, count(*) FILTER (WHERE state = 'queued')::int AS queued, count(*) FILTER (WHERE state = 'running')::int AS running
      FROM "job" WHERE state IN ('queued', 'running') AND executor IS NOT NULL GROUP BY executor`
    const workers = await this.db.worker.findMany({ select: { name: true, executors: true, problems: true, seenAt: true }, orderBy: { name: 'asc' } })
    const names = new Set([...counts.map((row) => row.executor), ...workers.flatMap((worker) => worker.executors)])
    return [...names].sort().map((executor) => {
      const count = counts.find((row) => row.executor === executor)
      return {
        executor,
        queued: count?.queued ?? 0,
        running: count?.running ?? 0,
        workers: workers.filter((worker) => worker.executors.includes(executor)).map((worker) => {
          const problem = (worker.problems as Record<string, string>)[executor]
          return problem === undefined ? { name: worker.name, seenAt: worker.seenAt } : { name: worker.name, seenAt: worker.seenAt, problem }
        })
      }
    })
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
   * (but for `self`, the process asking, which is alive)
   * forgets such processes; answers the jobs it ended, with who ran them and how,
   * so that what is left of their programs can be stopped. It writes the job table
   * only when there are such jobs (see `anyQueued`). Started runs of any executor
   * but the local one go on without their process (a cluster's jobs): they are
   * left for a dispatcher of that executor to adopt (`adopt`).
   */
  @systemWrites('job', 'job_event')
  async reapLost (silentSeconds: number, self: string): Promise<LostJob[]> {
    await this.db.$executeRaw`DELETE FROM "worker" WHERE seen_at <= now() AT TIME ZONE 'UTC' - make_interval(secs => ${silentSeconds}) AND name <> ${self}`
    const orphaned = Prisma.sql`j.state = 'running' AND NOT EXISTS (SELECT 1 FROM "worker" w WHERE w.name = j.claimed_by)
      AND NOT (j.handle IS NOT NULL AND j.executor <> 'local')`
    const [found] = await this.db.$queryRaw<Array<{ any: boolean }>>`SELECT EXISTS (SELECT 1 FROM "job" j WHERE ${orphaned}) AS any`
    if (!found!.any) return []
    return await this.db.$queryRaw<LostJob[]>`
      WITH lost AS (
        UPDATE "job" j SET state = 'error', reason = 'lost', finished_at = now() AT TIME ZONE 'UTC',
          message = 'the process running it (' || coalesce(j.claimed_by, 'unknown') || ') stopped before it ended'
        WHERE ${orphaned}
        RETURNING j.id, j.attempt, j.claimed_by, j.executor, j.handle),
      noted AS (INSERT INTO "job_event" (job_id, state, reason, at) SELECT id, 'error', 'lost', now() AT TIME ZONE 'UTC' FROM lost)
      SELECT id, attempt, claimed_by AS "claimedBy", executor, handle FROM lost ORDER BY id`
  }

  /**
   * Takes over for `worker` the started runs of `executor` whose process is gone
   * (no longer in the worker table: `reapLost` forgets the silent ones first), in
   * one statement: each job's attempt is raised, so the old holder, should it
   * wake, records nothing (the fence). The job stays running, its history as it
   * was. Runs another dispatcher is adopting at the same moment are skipped.
   */
  @systemWrites('job')
  async adopt (worker: string, executor: string): Promise<AdoptedJob[]> {
    const orphaned = Prisma.sql`j.state = 'running' AND j.executor = ${executor} AND j.handle IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "worker" w WHERE w.name = j.claimed_by)`
    const [found] = await this.db.$queryRaw<Array<{ any: boolean }>>`SELECT EXISTS (SELECT 1 FROM "job" j WHERE ${orphaned}) AS any`
    if (!found!.any) return []
    return await this.db.$queryRaw<AdoptedJob[]>`
      WITH adopted AS (
        UPDATE "job" SET attempt = attempt + 1, claimed_by = ${worker}
        WHERE id IN (SELECT id FROM "job" j WHERE ${orphaned} ORDER BY id FOR UPDATE SKIP LOCKED)
        RETURNING id, attempt, project_id, service_id, submitter_id, inputs, handle, run_attempt, cancel_requested)
      SELECT a.id, a.attempt, a.project_id AS "projectId", a.service_id AS "serviceId", a.submitter_id AS "submitterId", a.inputs,
        s.interface AS "interfaceDocument", a.handle, a.run_attempt AS "runAttempt", a.cancel_requested AS "cancelRequested"
      FROM adopted a LEFT JOIN "service" s ON s.id = a.service_id ORDER BY a.id`
  }

  /** The attempt whose directory a job's run uses (0 before it first ran; an adopted run keeps its own); undefined for no job. */
  @uncached
  async attemptOf (jobId: number): Promise<number | undefined> {
    const job = await this.db.job.findUnique({ where: { id: jobId }, select: { attempt: true, runAttempt: true } })
    return job === null ? undefined : job.runAttempt ?? job.attempt
  }

  /** The transitions after event `afterId` of these jobs, oldest first: what their event streams send next. */
  @uncached
  async eventsSince (afterId: bigint, jobIds: readonly number[]): Promise<JobEvent[]> {
    if (jobIds.length === 0) return []
    return await this.db.jobEvent.findMany({
      where: { id: { gt: afterId }, jobId: { in: [...jobIds] } },
      select: { id: true, jobId: true, state: true, reason: true, at: true },
      orderBy: { id: 'asc' }
    })
  }

  /**
   * Cancels a job (see `cancelJob`): the dispatchers' side, for any job.
   */
  @writes('job', 'job_event')
  async cancel (jobId: number): Promise<CancelOutcome> {
    return (await cancelJob(this.db, jobId)).outcome
  }
}

/**
 * Ends the held attempt of a running job as `ending` says, with its history's event, in one statement;
 * false, and nothing written, when the attempt is no longer held.
 */
async function recordEnding (db: Pick<PrismaClient, '$executeRaw'>, held: Held, ending: RunOutcome, outputs: Record<string, number[]>): Promise<boolean> {
  const reason: ErrorReason | null = ending.state === 'error' ? ending.reason : null
  const exitCode = ending.state === 'cancelled' ? null : ending.exitCode
  const message = ending.state === 'ok' ? '' : ending.message.slice(0, 2000)
  const count = await db.$executeRaw`
    WITH ended AS (
      UPDATE "job" SET state = ${ending.state}::"JobState", reason = ${reason}, exit_code = ${exitCode}, message = ${message},
        outputs = ${JSON.stringify(outputs)}::jsonb, finished_at = now() AT TIME ZONE 'UTC'
      WHERE id = ${held.id} AND attempt = ${held.attempt} AND state = 'running'
      RETURNING id, state, reason)
    INSERT INTO "job_event" (job_id, state, reason, at) SELECT id, state, reason, now() AT TIME ZONE 'UTC' FROM ended`
  return count === 1
}

/** What a cancellation found: `final` for a job already ended, `absent` for none (in that project). */
export type CancelOutcome = 'cancelled' | 'asked' | 'final' | 'absent'

/**
 * Cancels a job: a queued one at once; a running one is asked to stop (its
 * holder hears the notice this sends, or asks at its next poll, and records it
 * cancelled once its program is gone). One statement, shared by the queue and by users' cancellations
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
      asked AS (UPDATE "job" SET cancel_requested = true WHERE id = ${jobId} AND ${inProject} AND state = 'running' RETURNING id),
      told AS (SELECT pg_notify(${changeChannel}, json_build_object('cancel', id)::text) FROM asked)
      SELECT EXISTS (SELECT 1 FROM dequeued) AS dequeued, EXISTS (SELECT 1 FROM told) AS asked,
        (SELECT state::text FROM "job" WHERE id = ${jobId} AND ${inProject}) AS state`
    const state = row!.state
    if (row!.dequeued) return { outcome: 'cancelled', state }
    if (row!.asked) return { outcome: 'asked', state }
    if (state === null) return { outcome: 'absent', state }
    if (finalStates.includes(state)) return { outcome: 'final', state }
    // Claimed (or ended) while this statement ran: it saw the job as it was before. Once more, as it is now.
  }
}

/**
 * Cancels every queued job of a service, each with its history's last event: what
 * removing the service's interface does, since nothing says how to run them any
 * more (a job already claimed finds no interface, and ends error/system). Answers
 * how many it cancelled.
 */
export async function cancelQueuedOf (db: Pick<PrismaClient, '$queryRaw'>, serviceId: number, message: string): Promise<number> {
  const rows = await db.$queryRaw<Array<{ id: number }>>`
    WITH dequeued AS (
      UPDATE "job" SET state = 'cancelled', finished_at = now() AT TIME ZONE 'UTC', message = ${message}
      WHERE service_id = ${serviceId} AND state = 'queued' RETURNING id),
    noted AS (INSERT INTO "job_event" (job_id, state, at) SELECT id, 'cancelled', now() AT TIME ZONE 'UTC' FROM dequeued)
    SELECT id FROM dequeued`
  return rows.length
}
