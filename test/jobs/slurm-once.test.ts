/**
 * On the real Slurm (TEST_SLURM=1, scripts/slurm-test-cluster.sh), as on the local
 * executor: two servers on one PostgreSQL submit each job to the cluster once, and
 * a job's event stream shows queued, running, ok in order.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { formatId } from '../../src/rest/common.ts'
import { basic, seededApp } from '../fixtures.ts'
import { databaseKinds, tempDir, until } from '../helper.ts'

const skip = process.env.TEST_SLURM !== '1'
  ? 'TEST_SLURM is not set: no Slurm cluster to run jobs on (scripts/slurm-test-cluster.sh start, then TEST_SLURM=1 and its SLURM_CONF)'
  : databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set: two servers need a PostgreSQL to share'

t.test('postgresql: two servers submit each of a dozen jobs to Slurm once; a job\'s events come in order', { skip }, async (t) => {
  const env = { JOB_EXECUTOR: 'slurm', JOB_CONCURRENCY: '20', JOB_SLURM_POLL_MS: '250', JOB_WORK_DIR: await tempDir(t) }
  const { app, db, ...s } = await seededApp(t, 'postgresql', { env })
  const other = await buildApp({ config: app.config, db })
  t.teardown(() => other.close())
  await other.ready()
  const log = join(await tempDir(t), 'ran.log')
  const code = `import os, sys; fd = os.open(${JSON.stringify(log)}, os.O_WRONLY | os.O_APPEND | os.O_CREAT); os.write(fd, (sys.argv[1] + "\\n").encode())`
  const set = await app.inject({
    method: 'PUT', url: '/services/blast::pasteur/interface', headers: basic('admin'),
    payload: { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['python3', '-c', code], inputs: { word: { type: 'string', inputBinding: { position: 1 } } }, outputs: {} }
  })
  t.ok(set.statusCode === 200 || set.statusCode === 201, set.body)
  const project = `/projects/${formatId(s.projectId)}`
  const ids = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
    const answer = await [app, other][i % 2]!.inject({ method: 'POST', url: `${project}/jobs`, headers: basic('contributor'), payload: { service: 'blast::pasteur', inputs: { word: `line ${i}` } } })
    return answer.json<{ id: string }>().id
  }))
  const events = await app.inject({ url: `${project}/jobs/${ids[0]!}/events`, headers: basic('watcher') })
  t.same(events.body.split('\n').filter((line) => line.startsWith('event: ')), ['event: state', 'event: state', 'event: state'])
  t.same(events.body.split('\n').filter((line) => line.startsWith('data: ')).map((line) => (JSON.parse(line.slice(6)) as { state: string }).state), ['queued', 'running', 'ok'], 'its events, in order, the stream ending after the last')
  for (const id of ids) {
    const job = await until(`job ${id} to end`, async () => {
      const shown = (await other.inject({ url: `${project}/jobs/${id}`, headers: basic('watcher') })).json<{ state: string, history: Array<{ state: string }> }>()
      return ['queued', 'running'].includes(shown.state) ? undefined : shown
    }, 120)
    t.same(job.history.map((event) => event.state), ['queued', 'running', 'ok'], `job ${id}: one run`)
  }
  const lines = (await readFile(log, 'utf8')).trim().split('\n')
  t.equal(lines.length, 12, 'twelve lines')
  t.equal(new Set(lines).size, 12, 'one from each job')
  const [counted] = await db.prisma.$queryRaw<Array<{ handles: number }>>`
    SELECT count(DISTINCT handle)::int AS handles FROM "job" WHERE executor = 'slurm' AND id = ANY(${ids.map(Number)}::int[])`
  t.equal(counted?.handles, 12, 'twelve Slurm jobs, one per job')
})
