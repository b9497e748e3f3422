/**
 * What runs a job's program: the local executor (src/jobs/local-executor.ts) here,
 * a cluster's scheduler behind the same interface. The job row in the database is
 * the truth about a job (its state, attempt, history); an executor only starts a
 * program, reports how it ended and stops it when asked.
 */

/** Everything an executor needs to run one attempt of a job; paths are absolute. */
export interface RunSpec {
  /** The job's id and attempt, for names and logs. */
  jobId: number
  attempt: number
  /** The program and its arguments, each one element: never given to a shell. */
  argv: readonly string[]
  /** The program's working directory: its inputs are there, its outputs are looked for there. */
  workDir: string
  /** A directory of its own for temporary files (TMPDIR). */
  tmpDir: string
  /** Where its standard output and error go (outside `workDir`). */
  stdoutPath: string
  stderrPath: string
  /** Variables beside the executor's minimal environment (the interface's EnvVarRequirement). */
  env: Readonly<Record<string, string>>
  /** The longest the program may run. */
  timeoutSeconds: number
  /** The most bytes kept of each of stdout and stderr; a program writing more is stopped. */
  maxOutputBytes: number
  /** What the interface asks for (ResourceRequirement); a cluster executor reserves it. */
  cores?: number
  ramMiB?: number
  /** The directories and files a new run needs, made by the executor as it starts it (`layOut`); none for a run followed again. */
  layout?: RunLayout
}

/**
 * An attempt's directory as its program must find it. The executor makes it just
 * before the start: the local one in its launcher, off the server's thread, which
 * would otherwise wait on each trip through the thread pool (bench/README.md,
 * what bounds jobs per second).
 */
export interface RunLayout {
  /** The attempt's directory: emptied first when something is there already (what a database that gave out this job's id before left behind). */
  dir: string
  /** Directories to make inside it, each after its parent. */
  dirs: string[]
  /** Files to copy into it, read-only: the job's File inputs. */
  copies: Array<{ from: string, to: string }>
}

/** Why a job ended in error. */
export type ErrorReason = 'exit' | 'timeout' | 'output-limit' | 'lost' | 'system'

export type RunOutcome =
  | { state: 'ok', exitCode: 0 }
  | { state: 'error', reason: ErrorReason, exitCode: number | null, message: string }
  | { state: 'cancelled', message: string }

/** One started attempt of a job. */
export interface Run {
  /** What the executor knows the run by (a process id, a cluster job id): recorded, to follow or cancel it later. */
  readonly handle: string
  /** Settles once the program has ended and nothing of it is left running; never rejects. */
  readonly outcome: Promise<RunOutcome>
  /** Stops the program (a grace period, then by force); `outcome` then says cancelled. */
  cancel: () => void
  /**
   * Stops following a run that goes on without this process (a cluster's job),
   * for another process to follow (`Executor.follow`); `outcome` then never settles.
   */
  detach?: () => void
}

export interface Executor {
  readonly name: string
  /** Starts the program; rejects only when the executor itself cannot (the program not found ends as an outcome). */
  start: (spec: RunSpec) => Promise<Run>
  /**
   * Stops what is left of a run whose process died (its job ended error/lost),
   * if it is still there: `handle` as its `Run` named it, `workDir` its spec's.
   * Never rejects; a run it cannot prove is that job's is left alone.
   */
  abandon?: (handle: string, workDir: string) => Promise<void>
  /** What is wrong with the executor itself just now (its scheduler unreachable), for GET /_admin/executors; undefined when nothing is. */
  problem?: () => string | undefined
  /** Lets go of what the executor holds (a process of its own), once no run is left. */
  close?: () => Promise<void>
  /**
   * Follows a run started earlier, by this process before a restart or by
   * another, known by its recorded handle and the spec it was started with: for
   * executors whose runs outlive the process that started them.
   */
  follow?: (handle: string, spec: RunSpec) => Run
}
