/**
 * Jobs that run (issue 26): a trivial program (`true`) submitted through the HTTP
 * API and run by the server's dispatcher on its local executor, against the same
 * program spawned by this process in the same run (the floor); the wait from a
 * submission to its program's start with an idle executor; and the reads of
 * `/services/` while jobs are submitted and run at a fixed rate, against the same
 * reads quiet. See bench/README.md, "Jobs".
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Load, percentile, pool } from './load.ts'
import { measure, readScenarios, type Plan } from './scenarios.ts'
import { trueTool, type World } from './seed.ts'
import { cpuMilliseconds, sleep, type DatabaseKind, type RunningServer } from './server.ts'
import type autocannon from 'autocannon'
import { median, round } from './stats.ts'

export interface JobsPlan {
  /** The server's JOB_CONCURRENCY, and the floor's: as many spawns at once as the server runs jobs. */
  concurrency: number
  /** Jobs submitted (and spawns of the floor) per throughput run. */
  jobs: number
  /** Throughput runs, each the floors then the server, interleaved. */
  runs: number
  /** The reads' quiet and churned windows, interleaved, as many times each: their ratio moves most with the machine's other load. */
  readRuns: number
  /** Jobs submitted one at a time for the latency. */
  latencySamples: number
  /** Jobs submitted a second beside the reads. */
  churnRate: number
  /** The reads' load, as the scenarios' (bench/scenarios.ts). */
  reads: Plan
}

export interface JobsResult {
  database: DatabaseKind
  concurrency: number
  /** The floor: `true` spawned by a small node process, `concurrency` at a time, awaiting each exit; spawns a second, median of the runs. */
  floor_spawns_per_s: number
  floor_spawns_per_s_runs: number[]
  /** The server's resident memory before the throughput runs (median), and the floor holding as much (see spawnFloor). */
  server_rss_mb: number
  floor_at_server_rss_spawns_per_s: number
  floor_at_server_rss_spawns_per_s_runs: number[]
  /** Jobs per throughput run. */
  jobs: number
  /** Jobs over the time from the first submission sent to the last job's recorded end (all ok), median of the runs. */
  jobs_per_s: number
  jobs_per_s_runs: number[]
  /** jobs_per_s over floor_spawns_per_s. Issue 26's target: at least 0.3. */
  ratio_to_floor: number
  /** The server process's CPU time per job over a throughput run (the programs' own time is theirs), median of the runs. */
  server_cpu_ms_per_job: number
  /** That CPU time over the run's length. */
  server_busy: number
  /** Submission sent → the job's recorded start (running), one job at a time, each after the previous one ended. */
  latency_samples: number
  submit_to_running_p50_ms: number
  submit_to_running_p99_ms: number
  /** The same wait from the job's recorded creation (the submission's insert) instead: the dispatcher's part. */
  queued_p50_ms: number
  queued_p99_ms: number
  /** Submission sent → recorded end (ok), one at a time. */
  submit_to_ok_p50_ms: number
  submit_to_ok_p99_ms: number
  reads: ChurnResult
}

interface ChurnResult {
  name: string
  connections: number
  /** Reads a second quiet, then with jobs submitted at `job_rate`, medians of the runs (interleaved). */
  quiet_req_per_s: number
  quiet_req_per_s_runs: number[]
  churn_req_per_s: number
  churn_req_per_s_runs: number[]
  /**
   * Each churned window's rate over the quiet window just before it, median of the runs: the pairs are
   * adjacent in time, so the machine's other load moves both of a pair alike. Issue 26's target: at least 0.8.
   */
  ratio: number
  ratio_runs: number[]
  quiet_p50_ms: number
  churn_p50_ms: number
  churn_p99_ms: number
  quiet_server_busy: number
  churn_server_busy: number
  /** Submissions a second achieved in the windows (asked: job_rate). */
  job_rate: number
  job_rate_achieved: number
  /** Jobs submitted beside the reads (warm-ups and drains included), every one ended ok. */
  churn_jobs: number
  /** Created → finished of those jobs: whether the executor kept up with the rate. */
  churn_job_p50_ms: number
  churn_job_p99_ms: number
}

/** What the seeded program's interface makes of no inputs: its argv, run without a shell. */
const argv = [trueTool.baseCommand]
const listing = 'GET /services/?limit=100 anonymous'
/** Submissions in flight at once in a throughput run: enough to queue every job well before the executor is through. */
const submitters = 10
/** How often the bench asks whether the last job of a throughput run has ended; the rate itself comes from the jobs' recorded ends. */
const pollMs = 100
const jobTimeoutMs = 600_000
const warmUpJobs = 100

interface JobView {
  id: string
  state: string
  created: string
  started?: string
  finished?: string
}

export async function runJobs (server: RunningServer, world: World, database: DatabaseKind, plan: JobsPlan,
  progress: (line: string) => void): Promise<JobsResult> {
  const api = new Api(server.url, world)

  // Untimed: the first jobs load what submissions, claims and spawns load, and the server's code is compiled
  // along their path (measured cold, the first run cost half as much again per job as the third).
  await throughput(server, api, warmUpJobs, 'warm-up')

  const floorRates: number[] = []
  const heavyFloorRates: number[] = []
  const serverRss: number[] = []
  const rates: number[] = []
  const cpuPerJob: number[] = []
  const busy: number[] = []
  // Interleaved, so that a burst of load from elsewhere on the machine falls on the floors and the server alike.
  for (let run = 1; run <= plan.runs; run++) {
    await server.settle()
    floorRates.push(plan.jobs / await spawnFloor(plan.jobs, plan.concurrency))
    const rssMb = residentMiB(server.pid)
    serverRss.push(rssMb)
    heavyFloorRates.push(plan.jobs / await spawnFloor(plan.jobs, plan.concurrency, Math.round(rssMb)))
    const { seconds, cpuMs, waited } = await throughput(server, api, plan.jobs, `throughput ${run}`)
    rates.push(plan.jobs / seconds)
    cpuPerJob.push(cpuMs / plan.jobs)
    busy.push(cpuMs / 1000 / waited)
    progress(`${database} jobs run ${run}: floor ${round(floorRates.at(-1)!, 0)} spawns/s (${round(heavyFloorRates.at(-1)!, 0)} holding ` +
      `the server's ${round(serverRss.at(-1)!, 0)} MB), server ${round(rates.at(-1)!, 1)} jobs/s ` +
      `(${plan.jobs} in ${seconds.toFixed(2)} s, ${round(cpuPerJob.at(-1)!, 2)} ms CPU a job, busy ${round(busy.at(-1)!, 2)})`)
  }

  const latency = await measureLatency(server, api, plan.latencySamples)
  progress(`${database} submit → running, ${plan.latencySamples} jobs one at a time: p50 ${latency.toRunning.p50} ms, p99 ${latency.toRunning.p99} ms ` +
    `(from the insert: p50 ${latency.queued.p50} ms, p99 ${latency.queued.p99} ms); submit → ok p50 ${latency.toOk.p50} ms`)

  const reads = await readsUnderChurn(server, world, api, plan, database, progress)
  const floorRate = median(floorRates)
  const rate = median(rates)
  return {
    database,
    concurrency: plan.concurrency,
    floor_spawns_per_s: round(floorRate, 1),
    floor_spawns_per_s_runs: floorRates.map((r) => round(r, 1)),
    server_rss_mb: round(median(serverRss), 1),
    floor_at_server_rss_spawns_per_s: round(median(heavyFloorRates), 1),
    floor_at_server_rss_spawns_per_s_runs: heavyFloorRates.map((r) => round(r, 1)),
    jobs: plan.jobs,
    jobs_per_s: round(rate, 1),
    jobs_per_s_runs: rates.map((r) => round(r, 1)),
    ratio_to_floor: Number((rate / floorRate).toPrecision(3)),
    server_cpu_ms_per_job: round(median(cpuPerJob), 2),
    server_busy: round(median(busy), 2),
    latency_samples: plan.latencySamples,
    submit_to_running_p50_ms: latency.toRunning.p50,
    submit_to_running_p99_ms: latency.toRunning.p99,
    queued_p50_ms: latency.queued.p50,
    queued_p99_ms: latency.queued.p99,
    submit_to_ok_p50_ms: latency.toOk.p50,
    submit_to_ok_p99_ms: latency.toOk.p99,
    reads
  }
}

/**
 * Submits `count` jobs of the seeded program (`true`) into a new project, `submitters` at a time, and waits
 * until every one has ended ok. Answers the time from the first submission sent to the last end recorded
 * (`seconds`), the server's CPU time until the bench saw them all ended, and that wait (`waited`).
 */
export async function throughput (server: RunningServer, api: Api, count: number, name: string): Promise<{ seconds: number, cpuMs: number, waited: number }> {
  const project = await api.project(`bench jobs ${name}`)
  await server.settle()
  const cpuFrom = cpuMilliseconds(server.pid)
  const from = Date.now()
  const ids = await pool(count, submitters, async (i) => await api.submit(project, `${name}.${i + 1}`))
  await api.waitEnded(project, ids)
  const cpuMs = cpuMilliseconds(server.pid) - cpuFrom
  const waited = (Date.now() - from) / 1000
  const jobs = await api.expectAllOk(project, count)
  return { seconds: (Math.max(...jobs.map((job) => Date.parse(job.finished!))) - from) / 1000, cpuMs, waited }
}

/**
 * The floor, in a node process of its own (as small as node gets, unless made `sizeMiB` large):
 * `count` spawns of the program's argv (no shell, standard streams ignored), `concurrency` at a time, each
 * awaited to its exit. Linux's fork copies the page tables of the process that spawns, so a process holding
 * more memory spawns more slowly: made as large as the server (its resident memory), the same floor says how
 * much of the server's own rate its size costs. Answers the seconds the spawns took.
 */
async function spawnFloor (count: number, concurrency: number, sizeMiB = 0): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', floorScript, String(count), String(concurrency), String(sizeMiB), ...argv],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => { output += text })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`the spawn floor exited with code ${code}: ${output}`)
  return (JSON.parse(output) as { seconds: number }).seconds
}

const floorScript = `
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
const [count, width, sizeMiB, ...argv] = process.argv.slice(1)
// Filled, so that its pages are resident (and in the page tables fork copies), as the server's heap is; what node
// itself holds counts towards the size asked.
const ballast = Buffer.alloc(Math.max(0, Number(sizeMiB) * 2 ** 20 - process.memoryUsage().rss), 1)
let next = 0
const from = performance.now()
await Promise.all(Array.from({ length: Number(width) }, async () => {
  while (next++ < Number(count)) {
    await new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' })
      child.once('error', reject)
      child.once('exit', (code) => { if (code === 0) resolve(); else reject(new Error(argv.join(' ') + ' exited with code ' + code)) })
    })
  }
}))
process.stdout.write(JSON.stringify({ seconds: (performance.now() - from) / 1000, ballast: ballast.length }))
`

interface Percentiles { p50: number, p99: number }

/**
 * One job at a time, each submitted once the previous one has ended and the server is idle: the time from
 * sending the submission to the job's recorded start, read from its event stream (which ends with the job).
 */
async function measureLatency (server: RunningServer, api: Api, samples: number): Promise<{ toRunning: Percentiles, queued: Percentiles, toOk: Percentiles }> {
  const project = await api.project('bench jobs latency')
  const toRunning: number[] = []
  const queued: number[] = []
  const toOk: number[] = []
  for (let i = 1; i <= samples; i++) {
    await server.settle()
    const from = Date.now()
    const job = await api.submitted(project, `latency ${i}`)
    const events = await api.events(project, job.id)
    const at = (state: string): number => {
      const event = events.find((e) => e.state === state)
      if (event === undefined) throw new Error(`job ${job.id} has no ${state} event: ${JSON.stringify(events)}`)
      return Date.parse(event.at)
    }
    toRunning.push(at('running') - from)
    queued.push(at('running') - Date.parse(job.created))
    toOk.push(at('ok') - from)
  }
  const percentiles = (values: number[]): Percentiles => {
    const sorted = [...values].sort((a, b) => a - b)
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
  }
  return { toRunning: percentiles(toRunning), queued: percentiles(queued), toOk: percentiles(toOk) }
}

/** The service page, quiet and while jobs are submitted at `churnRate` (and run), interleaved; each churn in a project of its own. */
async function readsUnderChurn (server: RunningServer, world: World, api: Api, plan: JobsPlan, database: DatabaseKind,
  progress: (line: string) => void): Promise<ChurnResult> {
  const read = readScenarios(world).find((scenario) => scenario.name === listing)!
  const quiet: Array<{ rate: number, p50: number, busy: number }> = []
  const churn: Array<{ rate: number, p50: number, p99: number, busy: number, jobRate: number }> = []
  const ended: JobView[] = []
  for (let run = 1; run <= plan.readRuns; run++) {
    {
      const { stats: [stats], use } = await measure(server, plan.reads, [new Load(server.url, { connections: 10, call: read.call })])
      quiet.push({ rate: stats!.answers / stats!.seconds, p50: percentile(stats!.latencies, 0.5), busy: use.busy })
    }
    const project = await api.project(`bench jobs churn ${run}`)
    // One job a second per connection: the rate holds as long as a submission answers within a second.
    const { stats: [stats, submissions], use } = await measure(server, plan.reads, [
      new Load(server.url, { connections: 10, call: read.call }),
      new Load(server.url, { connections: plan.churnRate, requests: api.submissions(project, `churn ${run}`), headers: api.headers, overallRate: plan.churnRate })
    ])
    churn.push({
      rate: stats!.answers / stats!.seconds, p50: percentile(stats!.latencies, 0.5), p99: percentile(stats!.latencies, 0.99),
      busy: use.busy, jobRate: submissions!.answers / submissions!.seconds
    })
    // The server idle for a moment is not proof enough on a busy machine: the jobs themselves say when they are through.
    await api.drain(project)
    const jobs = await api.jobs(project)
    const other = jobs.find((job) => job.state !== 'ok')
    if (other !== undefined) throw new Error(`job ${other.id}, submitted beside the reads, ended ${other.state}: ${JSON.stringify(other)}`)
    ended.push(...jobs)
    progress(`${database} ${listing} ×10: quiet ${round(quiet.at(-1)!.rate, 0)} req/s, beside ${round(churn.at(-1)!.jobRate, 1)} jobs/s ` +
      `${round(churn.at(-1)!.rate, 0)} req/s (busy ${round(quiet.at(-1)!.busy, 2)} → ${round(use.busy, 2)}); ` +
      `${jobs.length} jobs, all ok`)
  }
  const lags = ended.filter((job) => job.finished !== undefined).map((job) => Date.parse(job.finished!) - Date.parse(job.created)).sort((a, b) => a - b)
  const ratios = churn.map((c, i) => c.rate / quiet[i]!.rate)
  const quietRate = median(quiet.map((q) => q.rate))
  const churnRate = median(churn.map((c) => c.rate))
  return {
    name: listing,
    connections: 10,
    quiet_req_per_s: round(quietRate, 1),
    quiet_req_per_s_runs: quiet.map((q) => round(q.rate, 1)),
    churn_req_per_s: round(churnRate, 1),
    churn_req_per_s_runs: churn.map((c) => round(c.rate, 1)),
    ratio: Number(median(ratios).toPrecision(3)),
    ratio_runs: ratios.map((r) => Number(r.toPrecision(3))),
    quiet_p50_ms: round(median(quiet.map((q) => q.p50)), 3),
    churn_p50_ms: round(median(churn.map((c) => c.p50)), 3),
    churn_p99_ms: round(median(churn.map((c) => c.p99)), 3),
    quiet_server_busy: round(median(quiet.map((q) => q.busy)), 2),
    churn_server_busy: round(median(churn.map((c) => c.busy)), 2),
    job_rate: plan.churnRate,
    job_rate_achieved: round(median(churn.map((c) => c.jobRate)), 1),
    churn_jobs: ended.length,
    churn_job_p50_ms: lags.length === 0 ? 0 : percentile(lags, 0.5),
    churn_job_p99_ms: lags.length === 0 ? 0 : percentile(lags, 0.99)
  }
}

/** The calls the jobs bench makes, as the administrator, with their checks. */
export class Api {
  readonly headers: Record<string, string>
  private readonly service: string

  constructor (private readonly url: string, world: World) {
    this.headers = { 'x-api-key': world.admin.apiKey, 'content-type': 'application/json' }
    this.service = world.runnableService
  }

  /** A new project: each measure's jobs in one of their own, listed whole afterwards. */
  async project (name: string): Promise<string> {
    const answer = await fetch(`${this.url}/projects`, { method: 'POST', headers: this.headers, body: JSON.stringify({ name: `${name.replaceAll(' ', '-')}-${Date.now()}` }) })
    if (answer.status !== 201) throw new Error(`POST /projects answered HTTP ${answer.status}: ${(await answer.text()).slice(0, 500)}`)
    await answer.body?.cancel()
    // A project's representation has no id: its Location has.
    return answer.headers.get('location')!.split('/').at(-1)!
  }

  async submitted (project: string, name: string): Promise<JobView> {
    return await this.call<JobView>('POST', `/projects/${project}/jobs`, { name, service: this.service, inputs: {} }, 201)
  }

  async submit (project: string, name: string): Promise<string> {
    return (await this.submitted(project, name)).id
  }

  /** The submissions as autocannon requests, each a new job of `project`. */
  submissions (project: string, prefix: string): autocannon.Request[] {
    let n = 0
    const body = (): string => JSON.stringify({ name: `${prefix}.${++n}`, service: this.service, inputs: {} })
    return [{ method: 'POST', path: `/projects/${project}/jobs`, setupRequest: (request: autocannon.Request) => ({ ...request, body: body() }) }]
  }

  async jobs (project: string, states: string[] = []): Promise<JobView[]> {
    const query = states.map((state) => `state=${state}`).join('&')
    return Object.values(await this.call<Record<string, JobView>>('GET', `/projects/${project}/jobs${query === '' ? '' : `?${query}`}`))
  }

  /**
   * Resolves once every job of `ids` has ended: the last submitted is asked after every `pollMs` (one job's
   * read, cheaper than the list), then whatever of the project has not ended.
   */
  async waitEnded (project: string, ids: string[]): Promise<void> {
    const deadline = Date.now() + jobTimeoutMs
    const last = ids.at(-1)!
    const ended = (job: JobView): boolean => ['ok', 'error', 'cancelled'].includes(job.state)
    while (!ended(await this.call<JobView>('GET', `/projects/${project}/jobs/${last}`))) {
      if (Date.now() > deadline) throw new Error(`job ${last} had not ended ${jobTimeoutMs / 1000} s after its submission`)
      await sleep(pollMs)
    }
    await this.drain(project)
  }

  /** Resolves once no job of the project is queued or running. */
  async drain (project: string): Promise<void> {
    const deadline = Date.now() + jobTimeoutMs
    while ((await this.jobs(project, ['queued', 'running'])).length > 0) {
      if (Date.now() > deadline) throw new Error(`the jobs of project ${project} had not ended after ${jobTimeoutMs / 1000} s`)
      await sleep(pollMs)
    }
  }

  /** The project's jobs, once they should all have ended ok: throws, with the first that did not, unless they have. */
  async expectAllOk (project: string, count: number): Promise<JobView[]> {
    const jobs = await this.jobs(project)
    const other = jobs.find((job) => job.state !== 'ok')
    if (other !== undefined) throw new Error(`job ${other.id} ended ${other.state}: ${JSON.stringify(other)}`)
    if (jobs.length !== count) throw new Error(`project ${project} has ${jobs.length} jobs, not ${count}`)
    return jobs
  }

  /** A job's transitions from its event stream, which ends after its final state. */
  async events (project: string, job: string): Promise<Array<{ state: string, at: string }>> {
    const answer = await fetch(`${this.url}/projects/${project}/jobs/${job}/events`, { headers: this.headers, signal: AbortSignal.timeout(jobTimeoutMs) })
    const text = await answer.text()
    if (answer.status !== 200) throw new Error(`the events of job ${job} answered HTTP ${answer.status}: ${text.slice(0, 500)}`)
    return text.split('\n\n').flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
      .map((line) => JSON.parse(line.slice('data: '.length)) as { state: string, at: string })
  }

  private async call<T> (method: string, path: string, body?: unknown, status = 200): Promise<T> {
    const answer = await fetch(this.url + path, { method, headers: this.headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await answer.text()
    if (answer.status !== status) throw new Error(`${method} ${path} answered HTTP ${answer.status}: ${text.slice(0, 500)}`)
    return JSON.parse(text) as T
  }
}

function residentMiB (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? 0 : Number(match[1]) / 1024
}

export function jobsTable (rows: JobsResult[]): string {
  const header = ['database', 'conc', 'floor/s', 'at srv RSS', 'jobs/s', 'runs', '× floor', 'ms CPU/job', 'busy', '→running p50/p99 ms', '→ok p50 ms',
    'reads quiet', 'under jobs', 'ratio', 'jobs/s asked']
  const cells = rows.map((r) => [r.database, String(r.concurrency), r.floor_spawns_per_s.toFixed(0), r.floor_at_server_rss_spawns_per_s.toFixed(0), r.jobs_per_s.toFixed(1),
    r.jobs_per_s_runs.map((v) => v.toFixed(0)).join('/'), r.ratio_to_floor.toPrecision(3), r.server_cpu_ms_per_job.toFixed(2), r.server_busy.toFixed(2),
    `${r.submit_to_running_p50_ms}/${r.submit_to_running_p99_ms}`, String(r.submit_to_ok_p50_ms),
    r.reads.quiet_req_per_s.toFixed(0), r.reads.churn_req_per_s.toFixed(0), r.reads.ratio.toPrecision(3), `${r.reads.job_rate_achieved}/${r.reads.job_rate}`])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]): string => c.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n'
}
