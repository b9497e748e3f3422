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
 *
 * An executor whose runs outlive this process (a cluster's, with `follow`) is
 * left running when the dispatcher stops, not cancelled: the runs of a silent
 * process on it are not lost but adopted by a dispatcher of that executor, which
 * follows them to their end (src/domain/job-queue.ts `adopt`).
 */
import type { ChangeFeed } from '../db/changes.ts'
import type { AdoptedJob, ClaimedJob, Held, JobQueue, LostJob, Product } from '../domain/job-queue.ts'
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
  /** The spec of an adopted job's run, as it was prepared (nothing is touched); a refusal ends the job error/system. */
  locate: (job: AdoptedJob) => Promise<RunSpec>
  /**
   * Stages the outputs of an ended run, and answers the outcome to record with the
   * data items they become (a failure to keep them is error/system); `release`
   * forgets the staged bytes once they are recorded or refused.
   */
  collect: (job: ClaimedJob, spec: RunSpec, outcome: RunOutcome) => Promise<Collected>
  /**
   * Forgets the directories of a run whose process died on this host, once
   * `stop` has ended what is left of its program there (it works in `workDir`).
   */
  discard: (job: Held, stop: (workDir: string) => Promise<void>) => Promise<void>
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
  /** The last claim found all it had room for: more are likely queued, and the next claim need not ask first. */
  private backlog = false
  private stopped = false
  private readonly ended = new Set<Promise<void>>()
  /** Settles when a dispatcher whose runs outlive it stops: each run it follows is then left to another process. */
  private readonly leaving: Promise<undefined>
  private leave = (): void => {}

  constructor (
    private readonly queue: JobQueue,
    private readonly executor: Executor,
    private readonly feed: ChangeFeed,
    private readonly hooks: JobHooks,
    private readonly options: DispatcherOptions
  ) {
    this.leaving = new Promise((resolve) => { this.leave = () => { resolve(undefined) } })
  }

  /** Whether the runs of this dispatcher's executor outlive it. */
  private get follows (): boolean {
    return this.executor.follow !== undefined
  }

  async start (): Promise<void> {
    await this.queue.heartbeat(this.options.worker, this.executor.name, this.executor.problem?.())
    await this.reap(this.options.alone ? 0 : this.options.lostAfterSeconds)
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
        this.queue.heartbeat(this.options.worker, this.executor.name, this.executor.problem?.())
          .then(async () => { await this.reap(this.options.lostAfterSeconds) })
          .catch(this.hooks.onError)
      }, this.options.heartbeatMs)
    ]
    this.claim()
  }

  /**
   * Claims no more; stops what runs and waits for their ends to be recorded: as
   * error/lost (the process that ran them stopped), unless a user had asked to
   * cancel. Runs that outlive this process are not stopped but left, still
   * running, for another process to adopt once this one is silent.
   */
  async stop (): Promise<void> {
    this.stopped = true
    this.unsubscribe()
    for (const timer of this.timers) clearInterval(timer)
    await this.claiming
    if (this.follows) this.leave()
    else for (const { run } of this.running.values()) run?.cancel()
    await Promise.all(this.ended)
    await this.executor.close?.()
  }

  /**
   * Ends as lost the jobs of processes silent for `silentSeconds`, but for the runs
   * that outlive them (a cluster's), which a dispatcher of their executor adopts:
   * this one, if its executor's runs outlive it. Lost runs of this host and this
   * executor may have left their programs running (a process killed outright stops
   * nothing): they are stopped here.
   */
  private async reap (silentSeconds: number): Promise<void> {
    for (const job of await this.queue.reapLost(silentSeconds, this.options.worker)) {
      if (!this.ranHere(job)) continue
      const handle = job.handle!
      await this.hooks.discard(job, async (workDir) => { await this.executor.abandon?.(handle, workDir) })
    }
    if (!this.follows || this.stopped) return
    for (const job of await this.queue.adopt(this.options.worker, this.executor.name)) this.launch(job, job)
  }

  private ranHere (job: LostJob): boolean {
    return job.executor === this.executor.name && job.handle !== null && job.claimedBy !== null &&
      hostOf(job.claimedBy) === hostOf(this.options.worker)
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
        if (room <= 0 || !(this.backlog || await this.queue.anyQueued(this.executor.name))) continue
        const jobs = await this.queue.claim(this.options.worker, this.executor.name, room)
        this.backlog = jobs.length === room
        for (const job of jobs) this.launch(job)
      } while (this.claimAgain && !this.stopped)
    })().catch(this.hooks.onError).finally(() => { this.claiming = undefined })
  }

  /**
   * Runs a claimed job, or follows the run of an `adopted` one. Its place among the
   * `concurrency` is given back once its program has ended: collecting its outputs
   * and recording its end go on beside the next job's start.
   */
  private launch (job: ClaimedJob, adopted?: AdoptedJob): void {
    const held: Held = { id: job.id, attempt: job.attempt }
    const entry: Running = { held }
    this.running.set(job.id, entry)
    const vacate = (): void => {
      if (this.running.get(job.id) !== entry) return
      this.running.delete(job.id)
      this.claim()
    }
    const ended = (async () => {
      const collected = await this.run(job, entry, adopted, vacate)
      if (collected === undefined) return
      const { outcome, products, release } = collected
      try {
        await this.queue.finish(held, outcome, products)
      } finally {
        await release()
      }
    })().catch(this.hooks.onError).finally(() => {
      vacate()
      this.ended.delete(ended)
    })
    this.ended.add(ended)
  }

  /**
   * How the run ended, its outputs collected; undefined for a run left to another
   * process. `vacate` is called once its program has ended.
   */
  private async run (job: ClaimedJob, entry: Running, adopted: AdoptedJob | undefined, vacate: () => void): Promise<Collected | undefined> {
    const failed = (message: string): Collected => ({ outcome: { state: 'error', reason: 'system', exitCode: null, message }, products: [], release: async () => {} })
    let spec: RunSpec
    let run: Run
    // The handle's record, made while the program runs; the run is over only once it is made (or failed), so
    // that a stopping process never closes the database under it: a run left to another process is found by it.
    let recorded = Promise.resolve()
    if (adopted === undefined) {
      try {
        spec = await this.hooks.prepare(job)
      } catch (error) {
        return failed(`cannot prepare the job: ${errorText(error)}`)
      }
      try {
        run = entry.run = await this.executor.start(spec)
      } catch (error) {
        return failed(`the ${this.executor.name} executor cannot start the job: ${errorText(error)}`)
      }
      if (this.stopped && !this.follows) run.cancel()
      // A job whose handle could not be recorded (the database out of reach for a moment) still ends as it ran.
      recorded = this.queue.started(entry.held, run.handle).then(() => {}, this.hooks.onError)
    } else {
      try {
        spec = await this.hooks.locate(adopted)
      } catch (error) {
        return failed(`cannot follow the job's run ${adopted.handle}: ${errorText(error)}`)
      }
      run = entry.run = this.executor.follow!(adopted.handle, spec)
      // Asked while nobody followed it.
      if (adopted.cancelRequested) {
        entry.userCancelled = true
        run.cancel()
      }
    }
    let outcome = await Promise.race([run.outcome, this.leaving])
    if (outcome === undefined) {
      if (entry.userCancelled !== true) {
        run.detach?.()
        await recorded
        return undefined
      }
      outcome = await run.outcome
    }
    if (outcome.state === 'cancelled' && entry.userCancelled !== true) {
      outcome = { state: 'error', reason: 'lost', exitCode: null, message: `the process running it (${this.options.worker}) stopped` }
    }
    vacate()
    await recorded
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

/** The host of a worker's name (`host:pid`). */
function hostOf (worker: string): string {
  const colon = worker.lastIndexOf(':')
  return colon < 0 ? worker : worker.slice(0, colon)
}

function errorText (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
