/**
 * Workers (`npm run worker`) as real processes beside an API server that runs no
 * job itself, on one PostgreSQL: they share the jobs, run each once, and a worker
 * killed mid-job leaves its job lost (within the heartbeat window), its program
 * stopped, and the job not run again.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { databaseKinds, gone, postgresDatabase, tempDir, until } from '../helper.ts'
import { adminEnv, asAdmin, listeningServer, startWorker, type Running } from '../processes.ts'

t.test('a worker refuses to start without what it needs, saying why', async (t) => {
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ DATABASE_URL: '' }, /DATABASE_URL is not set: a worker runs the jobs of the PostgreSQL database its servers share/],
    [{ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', JOB_CONCURRENCY: '0' }, /JOB_CONCURRENCY is 0/],
    [{ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', JOB_CONCURRENCY: 'many' }, /JOB_CONCURRENCY/],
    [{ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, /cannot prepare the database:[^]*Can't reach database server at 127.0.0.1:1/]
  ]
  for (const [env, message] of refusals) {
    const worker = startWorker({ DATA_DIR: await tempDir(t), ...env })
    t.equal(await worker.exited, 1, `exits 1 with ${JSON.stringify(env)}`)
    t.match(worker.output(), message)
  }
})

/** Waits for a worker's "running jobs" line: its dispatcher claims from then on. */
async function ready (worker: Running): Promise<Running> {
  await until('the worker to run jobs', async () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited: ${worker.output()}`)
    return /"msg":"running jobs"/.test(worker.output()) ? true : undefined
  })
  return worker
}

t.test('postgresql: workers share the jobs of an API server, each run once; a worker killed mid-job leaves it lost, not run again', {
  skip: databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set: workers need a PostgreSQL to share'
}, async (t) => {
  const databaseUrl = await postgresDatabase(t)
  const dir = await tempDir(t)
  const env = {
    DATABASE_URL: databaseUrl, STORAGE_DIR: await tempDir(t, 'mobyle2-storage-'), ...adminEnv,
    JOB_LOST_AFTER_SECONDS: '5', LOG_FORMAT: 'json'
  }
  const server = await listeningServer(t, { ...env, MIGRATE_ON_START: 'true', JOB_CONCURRENCY: '0' })
  const workers = [startWorker({ ...env, JOB_CONCURRENCY: '2' }), startWorker({ ...env, JOB_CONCURRENCY: '2' })]
  for (const worker of workers) t.teardown(() => worker.child.kill('SIGKILL'))
  await Promise.all(workers.map(ready))

  const project = (await asAdmin(`${server.url}/projects`, 'POST', { name: 'runs' })).headers.get('location')!
  await asAdmin(`${server.url}/services`, 'POST', { name: 'runner', server: 'local', type: 'program' })
  const log = join(dir, 'ran.log')
  // Each run appends its word to the log; a sleeper also writes its process id, then sleeps.
  await asAdmin(`${server.url}/services/runner::local/interface`, 'PUT', {
    cwlVersion: 'v1.2', class: 'CommandLineTool',
    baseCommand: ['python3', '-c', 'import os, sys, time; word = sys.argv[1]; fd = os.open(' + JSON.stringify(log) + ', os.O_WRONLY | os.O_APPEND | os.O_CREAT); ' +
      'os.write(fd, (word + "\\n").encode()); word == "sleeper" and (open(' + JSON.stringify(join(dir, 'sleeper.pid')) + ', "w").write(str(os.getpid())), time.sleep(600))'],
    inputs: { word: { type: 'string', inputBinding: { position: 1 } } }, outputs: {}
  })
  const submit = async (word: string) => (await (await asAdmin(`${server.url}${project}/jobs`, 'POST', { service: 'runner::local', inputs: { word } })).json() as { id: string }).id
  const stateOf = async (id: string) => await (await asAdmin(`${server.url}${project}/jobs/${id}`, 'GET')).json() as { state: string, reason?: string, message?: string }
  const ended = async (id: string, seconds = 60) => await until(`job ${id} to end`, async () => {
    const job = await stateOf(id)
    return ['queued', 'running'].includes(job.state) ? undefined : job
  }, seconds)

  const quick = await Promise.all(Array.from({ length: 20 }, async (_, i) => await submit(`line ${i}`)))
  for (const id of quick) t.equal((await ended(id)).state, 'ok', `job ${id}`)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(async () => { await db.end() })
  const { rows: runners } = await db.query<{ claimed_by: string }>('SELECT DISTINCT claimed_by FROM job WHERE claimed_by IS NOT NULL')
  t.ok(runners.every((row) => workers.some((worker) => row.claimed_by.endsWith(`:${worker.child.pid}`))), 'the workers ran them, not the server')

  const sleeper = await submit('sleeper')
  const pid = Number(await until('the sleeper to run', async () => await readFile(join(dir, 'sleeper.pid'), 'utf8').catch(() => undefined) || undefined))
  const { rows: [holder] } = await db.query<{ claimed_by: string }>('SELECT claimed_by FROM job WHERE id = $1', [Number(sleeper)])
  const killed = workers.find((worker) => holder!.claimed_by.endsWith(`:${worker.child.pid}`))!
  const killedAt = performance.now()
  killed.child.kill('SIGKILL')
  const lost = await ended(sleeper, 30)
  t.match(lost, { state: 'error', reason: 'lost', message: /stopped before it ended/ })
  t.comment(`lost ${Math.round((performance.now() - killedAt) / 100) / 10} s after the kill (JOB_LOST_AFTER_SECONDS=5)`)
  await gone('its program to be gone', pid, 10)
  t.pass('its program is gone: the process that started it went with the worker')
  const after = await submit('after')
  t.equal((await ended(after)).state, 'ok', 'the other worker runs what comes next')
  const lines = (await readFile(log, 'utf8')).trim().split('\n')
  t.equal(lines.filter((line) => line === 'sleeper').length, 1, 'the lost job was not run again')
  t.equal(lines.length, 22, 'twenty quick jobs, the sleeper, the one after: each once')
  t.equal(new Set(lines).size, 22)
})
