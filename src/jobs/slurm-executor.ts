/**
 * Runs jobs on a Slurm cluster: the cluster's scheduler queues, places and runs
 * them; this executor submits (`sbatch`), follows (`squeue`), cancels (`scancel`)
 * and reads how they ended. Commands run without a shell, with SLURM_CONF from
 * the server's environment; the job's directory (JOB_WORK_DIR) must be on a
 * filesystem the nodes share.
 *
 * Each run is a generated batch script beside the job's logs (`slurm.sh`): every
 * argv element is one single-quoted word, so no value is read by a shell. The
 * script writes the program's exit status to `slurm.exit` once it ends: a job
 * that ended while nobody followed it, and that the controller has forgotten
 * since (MinJobAge), still ends as it did.
 *
 * One `squeue` call per poll asks for every followed job, however many; at each
 * poll a running job's output files' sizes are watched (past maxOutputBytes it is
 * cancelled: error/output-limit), and so is the time it has run as Slurm counts it
 * (past timeoutSeconds it is cancelled: error/timeout). Slurm's own `--time` is
 * only the backstop: it counts whole minutes and checks them about every 30 s, so
 * a one-second limit would stop a job after 60 to 100 s.
 *
 * Why squeue and not sacct: sacct needs an accounting database (slurmdbd), which
 * many small clusters lack ("accounting storage is disabled"); squeue answers for
 * finished jobs too while the controller remembers them, and `slurm.exit` covers
 * what it forgets.
 */
import { execFile } from 'node:child_process'
import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { layOut } from './layout.ts'
import type { ErrorReason, Executor, Run, RunOutcome, RunSpec } from './executor.ts'

const execFileAsync = promisify(execFile)

export interface SlurmExecutorOptions {
  /** The executor's name in the routes (src/jobs/routes.ts), as jobs record it. */
  name: string
  partition?: string
  account?: string
  qos?: string
  /** How often the followed jobs' states are asked for (one squeue call for all of them). */
  pollMs: number
  /** The PATH programs see, and where the Slurm commands are looked for. */
  path: string
  /** SLURM_CONF, for clients of a cluster whose configuration is not in /etc/slurm. */
  slurmConf?: string
  /** Problems of the executor itself (the controller unreachable): logged; the next poll tries again. */
  onError: (error: unknown) => void
}

/** Why this executor stopped a job, when it did. */
interface Stop { reason: 'output-limit' | 'timeout' | 'cancelled', message: string }

interface Followed {
  id: string
  spec: RunSpec
  stop?: Stop
  settle: (outcome: RunOutcome) => void
}

/** A job as squeue shows it. */
export interface SlurmStatus {
  state: string
  reason: string
  /** The batch script's wait status, as Slurm keeps it (exit code × 256 + signal). */
  waitStatus: number
  /** How long it has run (or ran), in seconds, as Slurm counts it: 0 while it waits. */
  ranSeconds: number
}

/** Longest a Slurm command may take: a controller that slow is as good as down, and the next poll tries again. */
const commandTimeoutMs = 60_000

export class SlurmExecutor implements Executor {
  readonly name: string
  private readonly followed = new Map<string, Followed>()
  private timer: NodeJS.Timeout | undefined
  /** When the scheduled poll is due (performance.now()). */
  private dueAt = Number.POSITIVE_INFINITY
  private polling = false
  /** The soonest a poll was asked for while one ran: the next one comes that soon. */
  private askedDuringPoll = Number.POSITIVE_INFINITY

  /** What went wrong with the last poll (the controller unreachable, squeue missing); cleared by the next that works. */
  private trouble: string | undefined

  constructor (private readonly options: SlurmExecutorOptions) {
    this.name = options.name
  }

  problem (): string | undefined {
    return this.trouble
  }

  async start (spec: RunSpec): Promise<Run> {
    if (spec.layout !== undefined) await layOut(spec.layout)
    const dir = dirname(spec.stdoutPath)
    const script = join(dir, 'slurm.sh')
    await writeFile(script, batchScript(spec, join(dir, 'slurm.exit')), { mode: 0o755 })
    // The logs exist from the start, as the local executor's do, even for a job that never leaves the queue.
    await writeFile(spec.stdoutPath, '')
    await writeFile(spec.stderrPath, '')
    const { stdout } = await this.command('sbatch', [...this.submission(spec), script])
    const id = stdout.trim().split(';')[0]!
    if (!/^\d+$/.test(id)) throw new Error(`sbatch answered ${JSON.stringify(stdout.trim())}, not a job id`)
    return this.follow(id, spec)
  }

  follow (handle: string, spec: RunSpec): Run {
    let settle!: (outcome: RunOutcome) => void
    const outcome = new Promise<RunOutcome>((resolve) => { settle = resolve })
    const followed: Followed = { id: handle, spec, settle }
    this.followed.set(handle, followed)
    this.schedule(this.options.pollMs)
    return {
      handle,
      outcome,
      cancel: () => { this.stop(followed, { reason: 'cancelled', message: 'cancelled' }) },
      detach: () => { this.followed.delete(handle) }
    }
  }

  /** sbatch's options for a spec: its resources, its files, and no requeue (a program runs at most once). */
  private submission (spec: RunSpec): string[] {
    const { partition, account, qos } = this.options
    return [
      '--parsable',
      `--job-name=mobyle2-${spec.jobId}.${spec.attempt}`,
      `--chdir=${spec.workDir}`,
      `--output=${filenamePattern(spec.stdoutPath)}`,
      `--error=${filenamePattern(spec.stderrPath)}`,
      '--input=/dev/null',
      `--time=${Math.max(1, Math.ceil(spec.timeoutSeconds / 60))}`,
      '--nodes=1',
      '--ntasks=1',
      `--cpus-per-task=${Math.max(1, Math.ceil(spec.cores ?? 1))}`,
      ...(spec.ramMiB === undefined ? [] : [`--mem=${Math.ceil(spec.ramMiB)}M`]),
      ...(partition === undefined ? [] : [`--partition=${partition}`]),
      ...(account === undefined ? [] : [`--account=${account}`]),
      ...(qos === undefined ? [] : [`--qos=${qos}`]),
      '--no-requeue',
      // The job's environment is sbatch's own, which is minimal (`command`): NIL and NONE make
      // slurmd load the submitting user's login environment instead (seen on 22.05, 0.5 to 1.5 s more).
      '--export=ALL'
    ]
  }

  private stop (followed: Followed, why: Stop): void {
    if (followed.stop !== undefined || !this.followed.has(followed.id)) return
    followed.stop = why
    this.command('scancel', [followed.id]).catch((error: unknown) => {
      // It ended meanwhile: the next poll says how.
      if (!/already completing or completed|Invalid job id/.test(error instanceof Error ? error.message : '')) this.options.onError(error)
    })
    this.schedule(200)
  }

  /**
   * Polls within `delay`: a poll already due sooner stays (jobs submitted faster
   * than the polls never put them off); after a poll, the next one, while any job
   * is followed.
   */
  private schedule (delay: number): void {
    if (this.polling) {
      this.askedDuringPoll = Math.min(this.askedDuringPoll, delay)
      return
    }
    if (this.dueAt <= performance.now() + delay) return
    clearTimeout(this.timer)
    this.dueAt = performance.now() + delay
    this.timer = setTimeout(() => {
      this.dueAt = Number.POSITIVE_INFINITY
      this.polling = true
      this.poll().catch(this.options.onError).finally(() => {
        this.polling = false
        const next = Math.min(this.askedDuringPoll, this.options.pollMs)
        this.askedDuringPoll = Number.POSITIVE_INFINITY
        if (this.followed.size > 0) this.schedule(next)
      })
    }, delay)
  }

  private async poll (): Promise<void> {
    const ids = [...this.followed.keys()]
    if (ids.length === 0) return
    let statuses: Awaited<ReturnType<SlurmExecutor['squeue']>>
    try {
      statuses = await this.squeue(ids)
      this.trouble = undefined
    } catch (error) {
      this.trouble = `following its ${ids.length} job(s) failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500)
      throw error
    }
    for (const id of ids) {
      const followed = this.followed.get(id)
      if (followed === undefined) continue
      const status = statuses.get(id)
      if (status === undefined) {
        this.end(followed, await this.vanished(followed))
      } else if (finalStates.has(status.state)) {
        this.end(followed, status.state === 'FAILED' && await unentered(followed.spec)
          ? { state: 'error', reason: 'system', exitCode: null, message: `the node could not enter the job's working directory (is JOB_WORK_DIR shared with the nodes?); Slurm job ${id}: FAILED` }
          : slurmOutcome(id, status, followed.stop))
      } else if (status.state === 'RUNNING') {
        await this.watchLimits(followed, status)
      }
    }
  }

  /** The followed jobs the controller knows, by id; an error when it cannot answer. */
  private async squeue (ids: readonly string[]): Promise<Map<string, SlurmStatus>> {
    try {
      const { stdout } = await this.command('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, `--Format=${squeueFormat}`])
      return parseSqueue(stdout)
    } catch (error) {
      // Asked only for jobs it has forgotten, squeue says so and fails; with one it knows, it lists that one.
      if (/Invalid job id specified/.test((error as { stderr?: string }).stderr ?? '')) return new Map()
      throw error
    }
  }

  /** The program's exit code, as the batch script recorded it once the program ended. */
  private async recorded (followed: Followed): Promise<number | undefined> {
    const text = await readFile(join(dirname(followed.spec.stdoutPath), 'slurm.exit'), 'utf8').catch(() => '')
    const code = Number(text.trim())
    return text.trim() !== '' && Number.isInteger(code) ? code : undefined
  }

  /** How a job the controller no longer knows ended: as its script recorded, or lost. */
  private async vanished (followed: Followed): Promise<RunOutcome> {
    const code = await this.recorded(followed)
    if (code !== undefined) return exitOutcome(code, `Slurm no longer knows job ${followed.id}: its script recorded the code`)
    if (followed.stop?.reason === 'cancelled') return { state: 'cancelled', message: followed.stop.message }
    if (followed.stop !== undefined) return { state: 'error', reason: followed.stop.reason, exitCode: null, message: followed.stop.message }
    return {
      state: 'error', reason: 'lost', exitCode: null,
      message: `Slurm no longer knows job ${followed.id} (it ended longer ago than the controller remembers, or the controller lost it), and its script recorded no exit status`
    }
  }

  /**
   * Cancels a job that has run past its time limit, or whose stdout or stderr passed
   * the output limit. The time is Slurm's: a job adopted from another process is
   * held to the same limit, counted from when it started on the cluster.
   */
  private async watchLimits (followed: Followed, status: SlurmStatus): Promise<void> {
    const { timeoutSeconds, maxOutputBytes } = followed.spec
    if (status.ranSeconds > timeoutSeconds) {
      this.stop(followed, { reason: 'timeout', message: `it ran longer than its time limit of ${timeoutSeconds} s` })
      return
    }
    const over = await overLimit(followed.spec)
    if (over !== undefined) this.stop(followed, { reason: 'output-limit', message: `wrote more than ${maxOutputBytes} bytes to ${over}` })
  }

  /** Records how a job ended: past the output limit (written faster than the polls saw) its logs are cut to it, and it is an error. */
  private end (followed: Followed, outcome: RunOutcome): void {
    this.followed.delete(followed.id)
    const { spec } = followed
    void (async (): Promise<RunOutcome> => {
      const over = await overLimit(spec)
      if (over === undefined) return outcome
      for (const path of [spec.stdoutPath, spec.stderrPath]) await truncate(path, spec.maxOutputBytes).catch(() => {})
      if (outcome.state === 'cancelled' || (outcome.state === 'error' && outcome.reason !== 'exit')) return outcome
      return { state: 'error', reason: 'output-limit', exitCode: outcome.exitCode, message: `wrote more than ${spec.maxOutputBytes} bytes to ${over}` }
    })().then(followed.settle, (error: unknown) => {
      followed.settle({ state: 'error', reason: 'system', exitCode: null, message: `cannot read the job's logs: ${error instanceof Error ? error.message : String(error)}` })
    })
  }

  private async command (file: string, args: string[]): Promise<{ stdout: string, stderr: string }> {
    // The job gets sbatch's environment (--export=ALL): only this, never the server's own variables.
    const env: Record<string, string> = { PATH: this.options.path, LANG: 'C.UTF-8' }
    if (this.options.slurmConf !== undefined) env.SLURM_CONF = this.options.slurmConf
    try {
      return await execFileAsync(file, args, { env, timeout: commandTimeoutMs, maxBuffer: 64 * 1024 * 1024 })
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim()
      if (stderr !== undefined && stderr !== '' && error instanceof Error) error.message = `${file}: ${stderr}`
      throw error
    }
  }
}

/** What the batch script says on stderr when it cannot enter the working directory (after slurmstepd's own lines). */
const unenteredLine = 'mobyle2: cannot enter the working directory'

/** Whether the batch script stopped before the program, unable to enter its directory (the first lines of its stderr say so). */
async function unentered (spec: RunSpec): Promise<boolean> {
  const file = await open(spec.stderrPath).catch(() => undefined)
  if (file === undefined) return false
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4096), 0, 4096, 0)
    return buffer.subarray(0, bytesRead).toString().split('\n').some((line) => line.startsWith(unenteredLine))
  } finally {
    await file.close()
  }
}

/** Which of stdout and stderr is past the spec's limit, if any. */
async function overLimit (spec: RunSpec): Promise<'stdout' | 'stderr' | undefined> {
  for (const [name, path] of [['stdout', spec.stdoutPath], ['stderr', spec.stderrPath]] as const) {
    const size = await stat(path).then((found) => found.size, () => 0)
    if (size > spec.maxOutputBytes) return name
  }
  return undefined
}

/** The states after which a job runs no more (COMPLETING is not one: its processes are still being stopped). */
const finalStates = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'DEADLINE', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'REVOKED'])

/** What squeue is asked to show of each job: fields ended by `|`, which none of them holds. */
const squeueFormat = 'JobID:|,State:|,Reason:|,exit_code:|,TimeUsed:|'

/** Reads `squeue --noheader --Format=<squeueFormat>`. */
export function parseSqueue (text: string): Map<string, SlurmStatus> {
  const statuses = new Map<string, SlurmStatus>()
  for (const line of text.split('\n')) {
    const [id, state, reason, waitStatus, used] = line.trim().split('|')
    if (id === undefined || state === undefined || reason === undefined || waitStatus === undefined || used === undefined || id === '') continue
    statuses.set(id.trim(), { state: state.trim(), reason: reason.trim(), waitStatus: Number(waitStatus.trim()), ranSeconds: slurmSeconds(used.trim()) })
  }
  return statuses
}

/** Seconds of a Slurm duration: `S`, `M:SS`, `H:MM:SS` or `D-HH:MM:SS`; 0 for anything else (`INVALID`, none yet). */
export function slurmSeconds (text: string): number {
  const match = /^(?:(\d+)-)?(?:(?:(\d+):)?(\d+):)?(\d+)$/.exec(text)
  if (match === null) return 0
  const [, days, hours, minutes, seconds] = match
  return ((Number(days ?? 0) * 24 + Number(hours ?? 0)) * 60 + Number(minutes ?? 0)) * 60 + Number(seconds)
}

/** What a wait status says: the code, or 128 plus the signal that killed it. */
export function exitCodeOf (waitStatus: number): { exitCode: number, signal: number } {
  const signal = waitStatus & 0x7f
  return { exitCode: signal === 0 ? (waitStatus >> 8) & 0xff : 128 + signal, signal }
}

/** How a program that exited with `exitCode` ended; `detail` says where that code comes from. */
function exitOutcome (exitCode: number, detail: string): RunOutcome {
  if (exitCode === 0) return { state: 'ok', exitCode: 0 }
  // The script's shell reports a program killed by signal n as 128 + n.
  const killed = exitCode > 128 && exitCode < 128 + 65 ? ` (128 + ${exitCode - 128}: killed by signal ${exitCode - 128})` : ''
  return { state: 'error', reason: 'exit', exitCode, message: `the program exited with code ${exitCode}${killed}; ${detail}` }
}

/**
 * How a job in a final Slurm state ended (docs/slurm.md has the table). `stop`
 * says whether this executor cancelled it: a CANCELLED job nobody here cancelled
 * was cancelled on the cluster (an administrator, a scancel), and is lost.
 */
export function slurmOutcome (id: string, status: SlurmStatus, stop?: Stop): RunOutcome {
  const { exitCode, signal } = exitCodeOf(status.waitStatus)
  const slurm = `Slurm job ${id}: ${status.state}${status.reason === '' || status.reason === 'None' ? '' : ` (${status.reason})`}`
  const error = (reason: ErrorReason, message: string, code: number | null = exitCode): RunOutcome =>
    ({ state: 'error', reason, exitCode: code, message: `${message}; ${slurm}` })
  switch (status.state) {
    case 'COMPLETED':
      return exitOutcome(exitCode, slurm)
    case 'FAILED':
      if (status.reason !== 'NonZeroExitCode' && !status.reason.startsWith('RaisedSignal')) return error('system', 'Slurm could not run it', null)
      return signal === 0 ? exitOutcome(exitCode, slurm) : error('exit', `the program was killed by signal ${signal}`)
    case 'CANCELLED':
      if (stop?.reason === 'cancelled') return { state: 'cancelled', message: stop.message }
      if (stop !== undefined) return error(stop.reason, stop.message)
      return error('lost', 'it was cancelled on the cluster, not through this server')
    case 'TIMEOUT':
    case 'DEADLINE':
      return error('timeout', 'it ran longer than its time limit')
    case 'OUT_OF_MEMORY':
      return error('exit', 'the program used more memory than it asked for')
    case 'BOOT_FAIL':
      return error('system', 'its node failed to boot', null)
    default:
      // NODE_FAIL, PREEMPTED, REVOKED: the cluster took it back before it ended.
      return error('lost', 'the cluster stopped it before it ended', null)
  }
}

/** A path as sbatch's --output takes it: `%` starts a replacement (%j, %x…), `%%` is one `%`. */
function filenamePattern (path: string): string {
  return path.replaceAll('%', '%%')
}

/** One word for sh, whatever it holds: single quotes, each `'` closed, escaped and reopened. */
function shellWord (value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`
}

/**
 * The batch script of a run: the environment, the argv (each element one
 * single-quoted word, standard input closed), then its exit status written to
 * `exitPath` (through a rename, so that a reader sees all of it or nothing).
 */
export function batchScript (spec: RunSpec, exitPath: string): string {
  const env: Array<[string, string]> = [['HOME', spec.workDir], ['TMPDIR', spec.tmpDir], ['LANG', 'C.UTF-8'], ...Object.entries(spec.env)]
  for (const [name] of env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not the name of an environment variable`)
  }
  if (spec.argv.length === 0) throw new Error('no program to run')
  return [
    '#!/bin/sh',
    `# mobyle2 job ${spec.jobId}, attempt ${spec.attempt} (src/jobs/slurm-executor.ts): every value is one single-quoted word.`,
    // Slurm runs a job whose directory it cannot enter in /tmp instead: not this one.
    `cd ${shellWord(spec.workDir)} 2>/dev/null || { echo ${shellWord(`${unenteredLine} ${spec.workDir}`)} >&2; exit 1; }`,
    ...env.map(([name, value]) => `${name}=${shellWord(value)}; export ${name}`),
    `${spec.argv.map(shellWord).join(' ')} </dev/null`,
    'status=$?',
    `printf '%s\\n' "$status" > ${shellWord(`${exitPath}.tmp`)} && mv -f ${shellWord(`${exitPath}.tmp`)} ${shellWord(exitPath)}`,
    'exit "$status"',
    ''
  ].join('\n')
}
