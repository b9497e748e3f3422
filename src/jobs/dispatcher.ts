/**
 * Runs the queued jobs of the database on one executor, as many at once as it
 * may, in every process that has one (servers, workers). Processes share nothing
 * but the database: each claims jobs (src/domain/job-queue.ts), runs them, and
 * records how they ended, fenced by its attempt.
 *
 * It claims when told that jobs changed (the change feed's notices, from any
 * process) and every `pollMs` besides; it looks for cancellations of the jobs it
 * runs when told one was asked, and every `pollMs` besides; it beats every `heartbeatMs` and ends as lost the running jobs of
 * processes silent for `lostAfterSeconds` (at start, with `alone`, those of every
 * other process: the embedded database has no other).
 */
import type { ChangeFeed } from '../db/changes.ts'
import type { ClaimedJob, Held, JobQueue, Product } from '../domain/job-queue.ts'
import type { Executor, Run, RunOutcome, RunSpec } from './executor.ts'

export interface DispatcherOptions {
  /** This process, as the job rows it claims name it (host and pid). */
  worker: string
  concurrency: number
  pollMs: number
  heartbeatMs: number
  lostAfterSeconds: number
  /** Whether no other process can run jobs on this database (the embedded one). */
  alone: boolean
}

/** What the dispatcher asks of the rest of the server for a job: its run's spec, and what to make of how it ended. */
export interface JobHooks {
  /** The run's spec (its argv, its directory with the inputs in place); a refusal ends the job error/system. */
  prepare: (job: ClaimedJob) => Promise<RunSpec>
  /**
   * Stages the outputs of an ended run, and answers the outcome to record with the
   * data items they become (a failure to keep them is error/system); `release`
   * forgets the staged bytes once they are recorded or refused.
   */
  collect: (job: ClaimedJob, spec: RunSpec, outcome: RunOutcome) => Promise<Collected>
  /** Problems of the dispatcher itself (the database unreachable): logged, and tried again on the next tick. */
  onError: (error: unknown) => void
}

export interface Collected {
  outcome: RunOutcome
  products: Product[]
  release: () => Promise<void>
}

/** A job this process runs: its attempt, its run once started, and whether a user asked to cancel it. */
interface Running {
  held: Held
  run?: Run
  userCancelled?: boolean
}

export class Dispatcher {
  private readonly running = new Map<number, Running>()
  private timers: NodeJS.Timeout[] = []
  private unsubscribe = (): void => {}
  private claiming: Promise<void> | undefined
  private claimAgain = false
  private stopped = false
  private readonly ended = new Set<Promise<void>>()

  constructor (
    private readonly queue: JobQueue,
    private readonly executor: Executor,
    private readonly feed: ChangeFeed,
    private readonly hooks: JobHooks,
    private readonly options: DispatcherOptions
  ) {}

  async start (): Promise<void> {
    await this.queue.heartbeat(this.options.worker)
    await this.queue.reapLost(this.options.alone ? 0 : this.options.lostAfterSeconds)
    this.unsubscribe = this.feed.subscribe({
      changed: (change) => {
        // Asked only when a cancellation is announced, not after every job change: jobs change several
        // times each (submitted, claimed, ended), and each question is a statement (bench/jobs.ts).
        if (change.kind === 'cancel' && this.running.size > 0) this.hearCancellations()
        if (change.kind !== 'data' || (change.table !== undefined && change.table !== 'job')) return
        this.claim()
      },
      deaf: () => {},
      hearing: () => {
        this.claim()
        if (this.running.size > 0) this.hearCancellations()
      }
    })
    this.timers = [
      setInterval(() => {
        this.claim()
        if (this.running.size > 0) this.hearCancellations()
      }, this.options.pollMs),
      setInterval(() => {
        this.queue.heartbeat(this.options.worker)
          .then(async () => await this.queue.reapLost(this.options.lostAfterSeconds))
          .catch(this.hooks.onError)
      }, this.options.heartbeatMs)
    ]
    this.claim()
  }

  /**
   * Claims no more; stops what runs and waits for their ends to be recorded: as
   * error/lost (the process that ran them stopped), unless a user had asked to cancel.
   */
  async stop (): Promise<void> {
    this.stopped = true
    this.unsubscribe()
    for (const timer of this.timers) clearInterval(timer)
    await this.claiming
    for (const { run } of this.running.values()) run?.cancel()
    await Promise.all(this.ended)
  }

  /** Claims what there is room for; a call while a claim runs makes it claim once more after. */
  private claim (): void {
    if (this.stopped) return
    if (this.claiming !== undefined) {
      this.claimAgain = true
      return
    }
    this.claiming = (async () => {
      do {
        this.claimAgain = false
        const room = this.options.concurrency - this.running.size
        const jobs = room > 0 && await this.queue.anyQueued() ? await this.queue.claim(this.options.worker, this.executor.name, room) : []
        for (const job of jobs) this.launch(job)
      } while (this.claimAgain && !this.stopped)
    })().catch(this.hooks.onError).finally(() => { this.claiming = undefined })
  }

  private launch (job: ClaimedJob): void {
    const held: Held = { id: job.id, attempt: job.attempt }
    const entry: Running = { held }
    this.running.set(job.id, entry)
    const ended = (async () => {
      const { outcome, products, release } = await this.run(job, entry)
      try {
        await this.queue.finish(held, outcome, products)
      } finally {
        await release()
      }
    })().catch(this.hooks.onError).finally(() => {
      this.running.delete(job.id)
      this.ended.delete(ended)
      this.claim()
    })
    this.ended.add(ended)
  }

  private async run (job: ClaimedJob, entry: Running): Promise<Collected> {
    const failed = (message: string): Collected => ({ outcome: { state: 'error', reason: 'system', exitCode: null, message }, products: [], release: async () => {} })
    let spec: RunSpec
    try {
      spec = await this.hooks.prepare(job)
    } catch (error) {
      return failed(`cannot prepare the job: ${errorText(error)}`)
    }
    let run: Run
    try {
      run = entry.run = await this.executor.start(spec)
    } catch (error) {
      return failed(`the ${this.executor.name} executor cannot start the job: ${errorText(error)}`)
    }
    if (this.stopped) run.cancel()
    await this.queue.started(entry.held, run.handle)
    let outcome = await run.outcome
    if (outcome.state === 'cancelled' && entry.userCancelled !== true) {
      outcome = { state: 'error', reason: 'lost', exitCode: null, message: `the process running it (${this.options.worker}) stopped` }
    }
    try {
      return await this.hooks.collect(job, spec, outcome)
    } catch (error) {
      return failed(`cannot keep the job's outputs: ${errorText(error)}`)
    }
  }

  /** Stops the runs whose cancellation was asked for. */
  private hearCancellations (): void {
    this.queue.cancelRequested(this.options.worker).then((asked) => {
      for (const { id, attempt } of asked) {
        const entry = this.running.get(id)
        if (entry?.held.attempt !== attempt || entry.run === undefined) continue
        entry.userCancelled = true
        entry.run.cancel()
      }
    }, this.hooks.onError)
  }
}

function errorText (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
