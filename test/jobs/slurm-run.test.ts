/**
 * Jobs through the server on the Slurm executor (JOB_EXECUTOR=slurm), against
 * the one-node test cluster (TEST_SLURM=1, SLURM_CONF; scripts/slurm-test-cluster.sh):
 * a job's output kept, a cancel, and a server that stops while its Slurm job
 * runs, the job followed to its end by the next server on the same database.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { formatId } from '../../src/rest/common.ts'
import { basic, seededApp } from '../fixtures.ts'
import { databaseKinds, tempDir, until } from '../helper.ts'

const slurm = process.env.TEST_SLURM === '1' ? false : 'TEST_SLURM is not set: no Slurm cluster to run jobs on (scripts/slurm-test-cluster.sh start, then TEST_SLURM=1 and its SLURM_CONF)'

const sortTool = {
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: 'sort',
  inputs: { reverse: { type: 'boolean?', inputBinding: { position: 1, prefix: '-r' } }, input: { type: 'File', inputBinding: { position: 2 } } },
  outputs: { sorted: { type: 'stdout' } },
  stdout: 'sorted.txt'
}

const pythonTool = (code: string, outputs: Record<string, unknown> = {}) => ({
  cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['python3', '-c', code], inputs: {}, outputs
})

async function slurmState (id: string): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)('squeue', ['--noheader', '--states=all', `--jobs=${id}`, '--format=%T'])
  return stdout.trim() === '' ? undefined : stdout.trim()
}

interface JobRow { state: string, reason: string | null, exitCode: number | null, outputs: Record<string, number[]>, handle: string | null, attempt: number, claimedBy: string | null }

for (const kind of databaseKinds) {
  t.test(`${kind}: on Slurm, a job ends ok with its output kept, and a cancel stops one within 5 s`, { skip: slurm }, async (t) => {
    const { app, db, ...s } = await seededApp(t, kind, {
      env: { JOB_EXECUTOR: 'slurm', JOB_CONCURRENCY: '4', JOB_SLURM_POLL_MS: '250', JOB_WORK_DIR: await tempDir(t) }
    })
    const project = `/projects/${formatId(s.projectId)}`
    const row = async (id: number) => {
      const [found] = await db.prisma.$queryRaw<JobRow[]>`
        SELECT state::text, reason, exit_code AS "exitCode", outputs, handle, attempt, claimed_by AS "claimedBy" FROM "job" WHERE id = ${id}`
      return found!
    }
    const ended = async (id: number) => await until(`job ${id} to end`, async () => {
      const found = await row(id)
      return ['ok', 'error', 'cancelled'].includes(found.state) ? found : undefined
    })
    const submit = async (tool: object, inputs: object = {}) => {
      const set = await app.inject({ method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'), payload: tool })
      t.ok(set.statusCode === 200 || set.statusCode === 201, set.body)
      const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs } })
      t.equal(created.statusCode, 201, created.body)
      return Number(created.json<{ id: string }>().id)
    }

    const dir = await tempDir(t)
    await writeFile(join(dir, 'numbers.txt'), Array.from({ length: 2000 }, (_, i) => `${(i * 7919) % 2000} line`).join('\n') + '\n')
    const blob = await app.domain.projects.stageData(s.actors.contributor, s.projectId, createReadStream(join(dir, 'numbers.txt')))
    const item = await app.domain.projects.addData(s.actors.contributor, s.projectId, { name: 'numbers.txt' }, { blob, mediaType: 'text/plain' })
    const sorted = await ended(await submit(sortTool, { input: { data: formatId(item.id) }, reverse: true }))
    t.match(sorted, { state: 'ok', exitCode: 0, handle: /^\d+$/ })
    t.equal(await slurmState(sorted.handle!), 'COMPLETED', 'Slurm ran it')
    const content = await app.inject({ method: 'GET', url: `${project}/data/${formatId(sorted.outputs.sorted![0]!)}/content`, headers: basic('watcher') })
    const expected = execFileSync('sort', ['-r', join(dir, 'numbers.txt')], { env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } })
    t.ok(content.rawPayload.equals(expected), 'the output is byte-identical to sort run here')

    const failing = await ended(await submit(pythonTool('import sys; sys.stderr.write("no good\\n"); sys.exit(3)')))
    t.match(failing, { state: 'error', reason: 'exit', exitCode: 3 })

    const sleeper = await submit(pythonTool('import time; time.sleep(600)'))
    const handle = await until('the sleeper to run on Slurm', async () => {
      const { handle } = await row(sleeper)
      return handle !== null && await slurmState(handle) === 'RUNNING' ? handle : undefined
    })
    const asked = performance.now()
    const cancel = await app.inject({ method: 'POST', url: `${project}/jobs/${formatId(sleeper)}/cancel`, headers: basic('contributor') })
    t.equal(cancel.statusCode, 202, 'a running job is asked to stop')
    t.match(await until('the sleeper to end', async () => (await row(sleeper)).state === 'cancelled' ? true : undefined, 5), true)
    t.ok(performance.now() - asked < 5000, `cancelled within 5 s (${Math.round(performance.now() - asked)} ms)`)
    t.equal(await slurmState(handle), 'CANCELLED', 'its Slurm job too')
  })

  t.test(`${kind}: a server closed while its Slurm job runs; the next one on the same database follows it to ok`, { skip: slurm }, async (t) => {
    const { app, db, ...s } = await seededApp(t, kind, {
      env: { JOB_EXECUTOR: 'slurm', JOB_CONCURRENCY: '4', JOB_SLURM_POLL_MS: '250', JOB_LOST_AFTER_SECONDS: '5', JOB_WORK_DIR: await tempDir(t) }
    })
    const project = `/projects/${formatId(s.projectId)}`
    const row = async (id: number) => {
      const [found] = await db.prisma.$queryRaw<JobRow[]>`
        SELECT state::text, reason, exit_code AS "exitCode", outputs, handle, attempt, claimed_by AS "claimedBy" FROM "job" WHERE id = ${id}`
      return found!
    }
    await app.inject({
      method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'),
      payload: pythonTool('import time; print("started", flush=True); time.sleep(4); open("slept.txt", "w").write("slept")', { slept: { type: 'File', outputBinding: { glob: 'slept.txt' } } })
    })
    const created = await app.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs: {} } })
    const id = Number(created.json<{ id: string }>().id)
    const handle = await until('the job to run on Slurm', async () => {
      const { handle } = await row(id)
      return handle !== null && await slurmState(handle) === 'RUNNING' ? handle : undefined
    })
    const before = await row(id)

    await app.close()
    t.match(await row(id), { state: 'running', handle, attempt: before.attempt }, 'the closed server left the job running')
    t.equal(await slurmState(handle), 'RUNNING', 'and its Slurm job')

    const next = await buildApp({ config: app.config, db })
    t.teardown(() => next.close())
    await next.ready()
    const done = await until('the next server to follow the job to its end', async () => {
      const found = await row(id)
      return found.state === 'running' ? undefined : found
    }, 30)
    t.match(done, { state: 'ok', exitCode: 0, handle, attempt: before.attempt + 1 }, 'adopted (its attempt raised), followed to ok')
    t.not(done.claimedBy, before.claimedBy, 'by the next server')
    const output = await next.inject({ method: 'GET', url: `${project}/data/${formatId(done.outputs.slept![0]!)}/content`, headers: basic('watcher') })
    t.equal(output.body, 'slept', 'its output kept')
    const stdout = await next.inject({ method: 'GET', url: `${project}/jobs/${formatId(id)}/stdout`, headers: basic('watcher') })
    t.equal(stdout.body, 'started\n', 'its stdout still readable, from the directory it ran in')
    const shown = await next.inject({ method: 'GET', url: `${project}/jobs/${formatId(id)}`, headers: basic('watcher') })
    t.same(shown.json<{ history: Array<{ state: string }> }>().history.map((event) => event.state), ['queued', 'running', 'ok'], 'one run in its history')
  })
}
