/**
 * Jobs on Slurm (issue 27): how long a trivial job (`true`) takes from submission
 * to running and to its end through the server (JOB_EXECUTOR=slurm), against
 * `sbatch --wrap true` submitted and followed by this process on the same cluster
 * in the same run (the floor); jobs/s for a burst of them; and what following
 * many queued jobs costs the server (its squeue calls per poll, counted by a
 * PATH wrapper, and its CPU). Needs a cluster its Slurm clients reach
 * (SLURM_CONF); skipped otherwise. See bench/README.md, "Slurm".
 */
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, hostname, release, tmpdir, totalmem, type } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { applyMigrations } from '../src/db/migrate.ts'
import { seed, type World } from './seed.ts'
import { cpuMilliseconds, embeddedStorage, quiet, sleep, startServer, type RunningServer } from './server.ts'

const execFileAsync = promisify(execFile)

export interface SlurmPlan {
  /** Jobs submitted one after the other, per poll interval and side. */
  sequential: number
  /** Jobs submitted at once, for jobs/s. */
  burst: number
  /** Jobs left pending for the server to follow. */
  queued: number
  /** The poll intervals (JOB_SLURM_POLL_MS) measured, each with a floor that polls as often. */
  pollMs: number[]
  /** How long the followed queue is watched, in seconds. */
  windowSeconds: number
}

interface Percentiles { p50_ms: number, p99_ms: number }

interface LatencyResult {
  face: 'floor' | 'server'
  poll_ms: number
  jobs: number
  /** Floor: submission to RUNNING (or a final state) first seen by squeue; server: to the `running` in the job's history (its claim). */
  to_running: Percentiles
  /** Floor: submission to COMPLETED first seen; server: to the `ok` in the job's history. */
  to_ok: Percentiles
  /** Server only: submission to the `ok` event arriving on the job's event stream. */
  to_ok_seen?: Percentiles
  /** to_ok's p50 over the floor's at the same poll interval. */
  ratio_to_floor: number
}

interface BurstResult { face: 'floor' | 'server', poll_ms: number, jobs: number, seconds: number, jobs_per_s: number, ratio_to_floor: number }

interface FollowingResult {
  jobs: number
  poll_ms: number
  window_s: number
  /** squeue calls in the window, grouped into polls by the pauses between them. */
  polls: number
  squeue_calls: number
  calls_per_poll: number
  /** Job ids asked for by each call in the window (least and most). */
  ids_per_call: [number, number]
  /** The server's own CPU time per poll while it follows the jobs, and over the same window following none. */
  server_cpu_ms_per_poll: number
  idle_server_cpu_ms_per_poll: number
  /** The CPU time of the server's children (the squeue processes) per poll. */
  squeue_cpu_ms_per_poll: number
  /** One squeue call as the executor makes it, run by this process: for all the ids, for one (medians of 5). */
  squeue_wall_ms_all: number
  squeue_wall_ms_one: number
  submit_seconds: number
  /** From the first submission to every job pending on the cluster, followed by the server. */
  submitted_to_followed_seconds: number
  sbatch_calls: number
  cancel_seconds: number
  scancel_calls: number
  /** Jobs of the bench left on the cluster at the end (squeue, pending or running): 0. */
  left_on_cluster: number
}

export interface SlurmReport {
  date: string
  machine: string
  cluster: string
  /** Slurm itself: the floor polled every 50 ms, submission to RUNNING and to COMPLETED. */
  slurm_itself: { jobs: number, to_running: Percentiles, to_completed: Percentiles }
  latency: LatencyResult[]
  burst: BurstResult[]
  following: FollowingResult
}

/** The states after which a Slurm job runs no more (as the executor reads them). */
const finalStates = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'DEADLINE', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'REVOKED'])
const heldPartition = 'benchheld'
const waitLimitMs = 600_000

/** Why no Slurm cluster can be measured here, or undefined when one answers. */
export async function slurmUnreachable (): Promise<string | undefined> {
  if (process.env.SLURM_CONF === undefined || process.env.SLURM_CONF === '') return 'SLURM_CONF is not set'
  try {
    // Without an answer, sinfo retries for about a minute.
    await slurm('sinfo', ['--noheader', '--format=%a'], 10_000)
    return undefined
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n')[0]
    return `sinfo failed: ${stderr !== undefined && stderr !== '' ? stderr : error instanceof Error ? error.message.split('\n')[0]! : String(error)}`
  }
}

export async function runSlurm (plan: SlurmPlan, progress: (line: string) => void): Promise<SlurmReport> {
  // The jobs' directories, which the nodes must see as JOB_WORK_DIR must be: TMPDIR on a shared filesystem for a cluster of several nodes.
  const dir = await mkdtemp(join(tmpdir(), 'mobyle2-slurm-bench-'))
  const storage = await embeddedStorage()
  try {
    const db = await storage.open()
    let world: World
    try {
      await applyMigrations(db)
      // A small world (the member contributes to the 101st project: seed.ts): the jobs are measured here, not the catalogue.
      world = await seed(db, { servers: 5, services: 200, users: 200, groups: 10, projects: 200, apiKeys: 20 })
    } finally {
      await db.close()
    }
    const floorDir = join(dir, 'floor')
    await mkdir(floorDir)
    const { stdout: version } = await slurm('sinfo', ['--version'])
    const { stdout: nodes } = await slurm('sinfo', ['--noheader', '--Node', '--format=%N %c'])
    const cluster = `${version.trim()}, ${nodes.trim().split('\n').length} node(s): ${nodes.trim().replaceAll('\n', ', ')} CPUs`
    progress(`slurm: ${cluster}`)

    const itself = await floorSequential(floorDir, plan.sequential, 50)
    progress(`slurm: Slurm itself (polled every 50 ms): to running p50 ${itself.toRunning.p50_ms} ms, to completed p50 ${itself.toCompleted.p50_ms} ms`)
    const latency: LatencyResult[] = []
    const burst: BurstResult[] = []
    for (const pollMs of plan.pollMs) {
      const server = await startServer({ ...storage.serverEnv, ...serverEnv(dir, pollMs), JOB_CONCURRENCY: String(plan.burst) })
      try {
        // Interleaved, one floor job then one server job, so that load from elsewhere falls on both alike.
        const floorTimes: Array<{ running: number, ok: number }> = []
        const serverTimes: Array<{ running: number, ok: number, seen: number }> = []
        for (let i = 0; i < plan.sequential; i++) {
          floorTimes.push(await floorJob(floorDir, pollMs))
          serverTimes.push(await serverJob(server, world))
        }
        const floor: LatencyResult = {
          face: 'floor', poll_ms: pollMs, jobs: plan.sequential,
          to_running: percentiles(floorTimes.map((t) => t.running)), to_ok: percentiles(floorTimes.map((t) => t.ok)), ratio_to_floor: 1
        }
        const served = percentiles(serverTimes.map((t) => t.ok))
        latency.push(floor, {
          face: 'server', poll_ms: pollMs, jobs: plan.sequential,
          to_running: percentiles(serverTimes.map((t) => t.running)), to_ok: served, to_ok_seen: percentiles(serverTimes.map((t) => t.seen)),
          ratio_to_floor: round(served.p50_ms / floor.to_ok.p50_ms, 2)
        })
        progress(`slurm: poll ${pollMs} ms, ${plan.sequential} jobs one by one: to ok p50 ${served.p50_ms} ms through the server, ${floor.to_ok.p50_ms} ms the floor`)
        const floorSeconds = await floorBurst(floorDir, plan.burst, pollMs)
        const serverSeconds = await serverBurst(server, world, plan.burst)
        burst.push(
          { face: 'floor', poll_ms: pollMs, jobs: plan.burst, seconds: round(floorSeconds, 2), jobs_per_s: round(plan.burst / floorSeconds, 2), ratio_to_floor: 1 },
          { face: 'server', poll_ms: pollMs, jobs: plan.burst, seconds: round(serverSeconds, 2), jobs_per_s: round(plan.burst / serverSeconds, 2), ratio_to_floor: round(floorSeconds / serverSeconds, 2) })
        progress(`slurm: poll ${pollMs} ms, ${plan.burst} jobs at once: ${(plan.burst / serverSeconds).toFixed(2)} jobs/s through the server, ${(plan.burst / floorSeconds).toFixed(2)} the floor`)
      } finally {
        await server.stop()
      }
    }
    const following = await follow(dir, storage.serverEnv, world, plan, progress)
    return {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()}`,
      cluster,
      slurm_itself: { jobs: plan.sequential, to_running: itself.toRunning, to_completed: itself.toCompleted },
      latency,
      burst,
      following
    }
  } finally {
    await storage.dispose()
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  }
}

/** The server's settings: Slurm as the default executor, polled every `pollMs`; the wrapped PATH when given. */
function serverEnv (dir: string, pollMs: number, path = process.env.PATH ?? '/usr/bin:/bin'): Record<string, string> {
  return { JOB_EXECUTOR: 'slurm', JOB_SLURM_POLL_MS: String(pollMs), JOB_WORK_DIR: join(dir, 'jobs'), SLURM_CONF: process.env.SLURM_CONF!, PATH: path }
}

/** A Slurm command with the environment the executor gives its own: PATH, LANG and SLURM_CONF only. */
async function slurm (file: string, args: string[], timeout = 120_000): Promise<{ stdout: string, stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', SLURM_CONF: process.env.SLURM_CONF ?? '' }
  return await execFileAsync(file, args, { env, timeout, maxBuffer: 64 * 1024 * 1024 })
}

/** sbatch's options as the executor passes them (src/jobs/slurm-executor.ts), for `true` in `dir`. */
function floorSubmission (dir: string, n: number, partition?: string): string[] {
  return ['--parsable', `--job-name=bench-floor-${n}`, `--chdir=${dir}`, `--output=${join(dir, `${n}.out`)}`, `--error=${join(dir, `${n}.err`)}`,
    '--input=/dev/null', '--time=1', '--nodes=1', '--ntasks=1', '--cpus-per-task=1', ...(partition === undefined ? [] : [`--partition=${partition}`]),
    '--no-requeue', '--export=ALL', '--wrap', 'true']
}

let floorJobs = 0
async function sbatch (dir: string, partition?: string): Promise<string> {
  const { stdout } = await slurm('sbatch', floorSubmission(dir, ++floorJobs, partition))
  const id = stdout.trim().split(';')[0]!
  if (!/^\d+$/.test(id)) throw new Error(`sbatch answered ${JSON.stringify(stdout.trim())}`)
  return id
}

/** squeue as the executor calls it: one call for every id. */
async function squeue (ids: readonly string[]): Promise<Map<string, string>> {
  const { stdout } = await slurm('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--Format=JobID:|,State:|,Reason:|,exit_code:|'])
  const states = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const [id, state] = line.trim().split('|')
    if (id !== undefined && id !== '' && state !== undefined) states.set(id.trim(), state.trim())
  }
  return states
}

/**
 * One `true` through sbatch, followed as the executor follows it: a squeue call
 * `pollMs` after the submission and every `pollMs` after each answer. Milliseconds
 * from before sbatch to RUNNING (or an end) first seen, and to COMPLETED.
 */
async function floorJob (dir: string, pollMs: number): Promise<{ running: number, ok: number }> {
  const submitted = performance.now()
  const id = await sbatch(dir)
  let running: number | undefined
  for (const deadline = submitted + waitLimitMs; performance.now() < deadline;) {
    await sleep(pollMs)
    const state = (await squeue([id])).get(id)
    const now = performance.now() - submitted
    if (state === 'RUNNING' || state === 'COMPLETING') running ??= now
    if (state !== undefined && finalStates.has(state)) {
      if (state !== 'COMPLETED') throw new Error(`the floor's Slurm job ${id} ended ${state}`)
      return { running: running ?? now, ok: now }
    }
  }
  throw new Error(`the floor's Slurm job ${id} did not end`)
}

async function floorSequential (dir: string, jobs: number, pollMs: number): Promise<{ toRunning: Percentiles, toCompleted: Percentiles }> {
  const times: Array<{ running: number, ok: number }> = []
  for (let i = 0; i < jobs; i++) times.push(await floorJob(dir, pollMs))
  return { toRunning: percentiles(times.map((t) => t.running)), toCompleted: percentiles(times.map((t) => t.ok)) }
}

/** `jobs` sbatch calls at once, then one squeue call per poll for all of them: seconds until every one is seen COMPLETED. */
async function floorBurst (dir: string, jobs: number, pollMs: number): Promise<number> {
  const started = performance.now()
  const ids = await Promise.all(Array.from({ length: jobs }, async () => await sbatch(dir)))
  const pending = new Set(ids)
  while (pending.size > 0) {
    if (performance.now() - started > waitLimitMs) throw new Error(`${pending.size} floor jobs did not end`)
    await sleep(pollMs)
    for (const [id, state] of await squeue([...pending])) {
      if (!finalStates.has(state)) continue
      if (state !== 'COMPLETED') throw new Error(`the floor's Slurm job ${id} ended ${state}`)
      pending.delete(id)
    }
  }
  return (performance.now() - started) / 1000
}

interface JobView { id: string, state: string, history: Array<{ state: string, at: string }> }

async function api<T> (server: RunningServer, world: World, method: string, path: string, body?: object): Promise<T> {
  const answer = await fetch(server.url + path, {
    method,
    headers: { 'x-api-key': world.member.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!answer.ok) throw new Error(`${method} ${path}: HTTP ${answer.status} ${await answer.text()}`)
  return await answer.json() as T
}

const jobsPath = (world: World): string => `/projects/${world.memberProject}/jobs`
const submitJob = async (server: RunningServer, world: World): Promise<JobView> =>
  await api<JobView>(server, world, 'POST', jobsPath(world), { service: world.runnableService, inputs: {} })

/** Reads a job's event stream to its end: its final state, and when that event arrived (performance.now()). */
async function ended (server: RunningServer, world: World, id: string): Promise<{ state: string, seen: number }> {
  const answer = await fetch(`${server.url}${jobsPath(world)}/${id}/events`, { headers: { 'x-api-key': world.member.apiKey } })
  if (!answer.ok || answer.body === null) throw new Error(`the events of job ${id}: HTTP ${answer.status}`)
  let text = ''
  let last = { state: 'none', seen: 0 }
  const decoder = new TextDecoder()
  for await (const chunk of answer.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true })
    const states = [...text.matchAll(/^data: .*"state":"(\w+)"/gm)]
    if (states.length > 0 && states.at(-1)![1] !== last.state) last = { state: states.at(-1)![1]!, seen: performance.now() }
  }
  return last
}

/** Waits for a job to end ok: when its ok event arrived. */
async function endedOk (server: RunningServer, world: World, id: string): Promise<number> {
  const { state, seen } = await ended(server, world, id)
  if (state !== 'ok') throw new Error(`job ${id} ended ${state}, not ok`)
  return seen
}

/** The time of a state in a job's history (the server's clock, which is this machine's). */
function at (job: JobView, state: string): number {
  const event = job.history.find((e) => e.state === state)
  if (event === undefined) throw new Error(`job ${job.id} has no ${state} in its history: ${JSON.stringify(job.history)}`)
  return Date.parse(event.at)
}

/** One job through the server: milliseconds from before its POST to its running and ok (history), and to its ok event. */
async function serverJob (server: RunningServer, world: World): Promise<{ running: number, ok: number, seen: number }> {
  const wall = Date.now()
  const submitted = performance.now()
  const { id } = await submitJob(server, world)
  const seen = await endedOk(server, world, id) - submitted
  const job = await api<JobView>(server, world, 'GET', `${jobsPath(world)}/${id}`)
  return { running: at(job, 'running') - wall, ok: at(job, 'ok') - wall, seen }
}

/** `jobs` submitted at once: seconds from before the first POST to the last job's ok in its history. */
async function serverBurst (server: RunningServer, world: World, jobs: number): Promise<number> {
  const wall = Date.now()
  const ids = (await Promise.all(Array.from({ length: jobs }, async () => await submitJob(server, world)))).map((job) => job.id)
  await Promise.all(ids.map(async (id) => await endedOk(server, world, id)))
  const views = await Promise.all(ids.map(async (id) => await api<JobView>(server, world, 'GET', `${jobsPath(world)}/${id}`)))
  return (Math.max(...views.map((job) => at(job, 'ok'))) - wall) / 1000
}

/**
 * `plan.queued` jobs left pending in a partition that is down, followed by a
 * server whose Slurm commands go through a wrapper on its PATH that logs each
 * call: the squeue calls per poll, the server's CPU per poll against the same
 * window following nothing; then every job cancelled through the server.
 */
async function follow (dir: string, database: Record<string, string>, world: World, plan: SlurmPlan, progress: (line: string) => void): Promise<FollowingResult> {
  const pollMs = 2000
  const wrappers = join(dir, 'wrappers')
  const log = join(dir, 'slurm-calls.log')
  await mkdir(wrappers)
  for (const command of ['sbatch', 'squeue', 'scancel']) {
    const { stdout: real } = await execFileAsync('sh', ['-c', `command -v ${command}`])
    // bash's EPOCHREALTIME: the time without starting another process.
    await writeFile(join(wrappers, command), `#!/bin/bash\nprintf '%s %s %s\\n' "$EPOCHREALTIME" ${command} "$*" >> '${log}'\nexec '${real.trim()}' "$@"\n`)
    await chmod(join(wrappers, command), 0o755)
  }
  await writeFile(log, '')
  await slurm('scontrol', ['delete', `PartitionName=${heldPartition}`]).catch(() => {})
  await slurm('scontrol', ['create', `PartitionName=${heldPartition}`, `Nodes=${hostname().split('.')[0]!}`, 'State=DOWN'])
  const server = await startServer({
    ...database,
    ...serverEnv(dir, pollMs, `${wrappers}:${process.env.PATH ?? '/usr/bin:/bin'}`),
    JOB_SLURM_PARTITION: heldPartition,
    JOB_CONCURRENCY: String(plan.queued)
  })
  try {
    await quiet(server.pid)
    const idle = await window(server.pid, plan.windowSeconds)

    const started = performance.now()
    const ids: string[] = []
    await inBatches(plan.queued, 10, async () => { ids.push((await submitJob(server, world)).id) })
    const submitSeconds = (performance.now() - started) / 1000
    progress(`slurm: ${plan.queued} jobs submitted to the server in ${submitSeconds.toFixed(1)} s`)
    const deadline = performance.now() + waitLimitMs
    while ((await calls(log)).filter((c) => c.command === 'squeue').at(-1)?.ids !== plan.queued) {
      if (performance.now() > deadline) throw new Error(`the server did not come to follow ${plan.queued} jobs`)
      await sleep(500)
    }
    const followedSeconds = (performance.now() - started) / 1000
    const pending = (await slurm('squeue', ['--noheader', `--partition=${heldPartition}`, '--states=PENDING', '--format=%i'])).stdout.trim().split('\n').length
    if (pending !== plan.queued) throw new Error(`${pending} jobs pending in ${heldPartition}, not ${plan.queued}`)
    progress(`slurm: the server follows ${plan.queued} pending jobs, ${followedSeconds.toFixed(1)} s after the first submission`)

    const from = Date.now() / 1000
    const busy = await window(server.pid, plan.windowSeconds)
    const to = Date.now() / 1000
    const inWindow = (await calls(log)).filter((c) => c.command === 'squeue' && c.at >= from && c.at < to)
    // Calls closer together than half an interval belong to the same poll.
    let polls = 0
    for (const [i, call] of inWindow.entries()) if (i === 0 || call.at - inWindow[i - 1]!.at > pollMs / 2000) polls++
    if (polls === 0) throw new Error('no squeue call in the window')
    const followedIds = (await slurm('squeue', ['--noheader', `--partition=${heldPartition}`, '--format=%i'])).stdout.trim().split('\n')
    const wallAll = await median(5, async () => { await squeue(followedIds) })
    const wallOne = await median(5, async () => { await squeue(followedIds.slice(0, 1)) })

    const cancelling = performance.now()
    await inBatches(ids.length, 10, async (i) => { await api(server, world, 'POST', `${jobsPath(world)}/${ids[i]!}/cancel`) })
    while ((await slurm('squeue', ['--noheader', `--partition=${heldPartition}`, '--format=%i'])).stdout.trim() !== '') {
      if (performance.now() - cancelling > waitLimitMs) throw new Error('the jobs were not all cancelled on the cluster')
      await sleep(500)
    }
    const cancelSeconds = (performance.now() - cancelling) / 1000
    // Every job recorded as cancelled before the server stops.
    await inBatches(ids.length, 10, async (i) => {
      const { state } = await ended(server, world, ids[i]!)
      if (state !== 'cancelled') throw new Error(`job ${ids[i]!} ended ${state}, not cancelled`)
    })
    const everything = await calls(log)
    progress(`slurm: ${ids.length} jobs cancelled through the server in ${cancelSeconds.toFixed(1)} s`)
    return {
      jobs: plan.queued,
      poll_ms: pollMs,
      window_s: plan.windowSeconds,
      polls,
      squeue_calls: inWindow.length,
      calls_per_poll: round(inWindow.length / polls, 2),
      ids_per_call: [Math.min(...inWindow.map((c) => c.ids)), Math.max(...inWindow.map((c) => c.ids))],
      server_cpu_ms_per_poll: round(busy.ownMs / polls, 1),
      idle_server_cpu_ms_per_poll: round(idle.ownMs / polls, 1),
      squeue_cpu_ms_per_poll: round(busy.childrenMs / polls, 1),
      squeue_wall_ms_all: round(wallAll, 1),
      squeue_wall_ms_one: round(wallOne, 1),
      submit_seconds: round(submitSeconds, 1),
      submitted_to_followed_seconds: round(followedSeconds, 1),
      sbatch_calls: everything.filter((c) => c.command === 'sbatch').length,
      cancel_seconds: round(cancelSeconds, 1),
      scancel_calls: everything.filter((c) => c.command === 'scancel').length,
      left_on_cluster: await leftOnCluster()
    }
  } finally {
    await server.stop()
    await slurm('scontrol', ['delete', `PartitionName=${heldPartition}`])
  }
}

/** The bench's jobs still pending or running anywhere on the cluster (the server's are named mobyle2-…, the floor's bench-floor-…). */
async function leftOnCluster (): Promise<number> {
  const { stdout } = await slurm('squeue', ['--noheader', '--format=%j'])
  return stdout.split('\n').filter((name) => name.startsWith('mobyle2-') || name.startsWith('bench-floor-')).length
}

/** The server's own CPU time and its children's, in milliseconds, over `seconds`. */
async function window (pid: number, seconds: number): Promise<{ ownMs: number, childrenMs: number }> {
  const own = cpuMilliseconds(pid)
  const children = await childrenCpuMs(pid)
  await sleep(seconds * 1000)
  return { ownMs: cpuMilliseconds(pid) - own, childrenMs: await childrenCpuMs(pid) - children }
}

/** cutime and cstime: the CPU time of the children a process has waited for (each squeue call, once it exited). */
async function childrenCpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) * 10
}

/** The wrapper's log: each call's time (seconds), command and, for squeue, how many ids it asked for. */
async function calls (log: string): Promise<Array<{ at: number, command: string, ids: number }>> {
  return (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '').map((line) => {
    const [at, command, ...args] = line.split(' ')
    const jobs = args.find((arg) => arg.startsWith('--jobs='))
    return { at: Number(at), command: command!, ids: jobs === undefined ? 0 : jobs.slice('--jobs='.length).split(',').length }
  })
}

async function inBatches (count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await task(next++)
  }))
}

async function median (runs: number, task: () => Promise<void>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await task()
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!
}

function percentiles (values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
  return { p50_ms: round(rank(0.5), 0), p99_ms: round(rank(0.99), 0) }
}

function round (value: number, digits: number): number {
  return Number(value.toFixed(digits))
}

/** The report as tables: latencies and bursts side by side with their floors, then the followed queue. */
export function slurmTable (report: SlurmReport): string {
  const { slurm_itself: itself, following: f } = report
  const lines = [
    `Slurm (${report.cluster}); Slurm itself, polled every 50 ms: to running p50 ${itself.to_running.p50_ms} ms, to completed p50 ${itself.to_completed.p50_ms} ms (p99 ${itself.to_completed.p99_ms})`,
    '',
    'one by one       poll ms  jobs  running p50/p99 ms  ok p50/p99 ms  ok seen p50/p99 ms  ok × floor',
    ...report.latency.map((r) => [r.face.padEnd(15), String(r.poll_ms).padStart(8), String(r.jobs).padStart(5),
      `${r.to_running.p50_ms}/${r.to_running.p99_ms}`.padStart(19), `${r.to_ok.p50_ms}/${r.to_ok.p99_ms}`.padStart(14),
      (r.to_ok_seen === undefined ? '-' : `${r.to_ok_seen.p50_ms}/${r.to_ok_seen.p99_ms}`).padStart(19), r.ratio_to_floor.toFixed(2).padStart(11)].join(' ')),
    '',
    'at once          poll ms  jobs   seconds  jobs/s  × floor',
    ...report.burst.map((r) => [r.face.padEnd(15), String(r.poll_ms).padStart(8), String(r.jobs).padStart(5),
      r.seconds.toFixed(2).padStart(9), r.jobs_per_s.toFixed(2).padStart(7), r.ratio_to_floor.toFixed(2).padStart(8)].join(' ')),
    '',
    `following ${f.jobs} pending jobs, poll ${f.poll_ms} ms, ${f.window_s} s: ${f.polls} polls, ${f.squeue_calls} squeue calls (${f.calls_per_poll} per poll, ` +
      `${f.ids_per_call[0]}–${f.ids_per_call[1]} ids each); server CPU ${f.server_cpu_ms_per_poll} ms per poll (${f.idle_server_cpu_ms_per_poll} following none), ` +
      `squeue ${f.squeue_cpu_ms_per_poll} ms CPU per poll; one squeue call ${f.squeue_wall_ms_all} ms for all ids, ${f.squeue_wall_ms_one} ms for one`,
    `  submitted in ${f.submit_seconds} s, all followed after ${f.submitted_to_followed_seconds} s (${f.sbatch_calls} sbatch calls); ` +
      `cancelled in ${f.cancel_seconds} s (${f.scancel_calls} scancel calls); left on the cluster: ${f.left_on_cluster}`
  ]
  return `${lines.join('\n')}\n`
}
