/**
 * Jobs with real server processes, as `npm start` runs them: two servers on one
 * PostgreSQL run each job exactly once; a server killed (SIGKILL) while a job
 * runs leaves no program behind, and no job running once it is started again.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { databaseKinds, gone, migratedDataDir, postgresDatabase, tempDir, until } from '../helper.ts'
import { adminEnv, asAdmin, listeningServer } from '../processes.ts'

interface Job { state: string, reason?: string, message?: string, history: Array<{ state: string, reason?: string }> }

/** A project and a program `runner::local` running `code` with python3, its `word` input the first argument; answers the project's path. */
async function programAndProject (server: string, code: string): Promise<string> {
  const project = (await asAdmin(`${server}/projects`, 'POST', { name: 'runs' })).headers.get('location')!
  await asAdmin(`${server}/services`, 'POST', { name: 'runner', server: 'local', type: 'program' })
  await asAdmin(`${server}/services/runner::local/interface`, 'PUT', {
    cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['python3', '-c', code],
    inputs: { word: { type: 'string', inputBinding: { position: 1 } } }, outputs: {}
  })
  return project
}

async function submit (server: string, project: string, word: string): Promise<string> {
  return (await (await asAdmin(`${server}${project}/jobs`, 'POST', { service: 'runner::local', inputs: { word } })).json() as { id: string }).id
}

async function jobOf (server: string, project: string, id: string): Promise<Job> {
  return await (await asAdmin(`${server}${project}/jobs/${id}`, 'GET')).json() as Job
}

const appendLine = (log: string) => `import os, sys; fd = os.open(${JSON.stringify(log)}, os.O_WRONLY | os.O_APPEND | os.O_CREAT); os.write(fd, (sys.argv[1] + "\\n").encode())`

t.test('postgresql: two servers on one database run fifty jobs, each exactly once', { skip: databaseKinds.includes('postgresql') ? false : 'TEST_DATABASE_URL is not set: no PostgreSQL to share' }, async (t) => {
  const env = {
    DATABASE_URL: await postgresDatabase(t), MIGRATE_ON_START: 'true', STORAGE_DIR: await tempDir(t, 'mobyle2-storage-'),
    ...adminEnv, JOB_CONCURRENCY: '2'
  }
  const servers = [(await listeningServer(t, env)).url, (await listeningServer(t, env)).url]
  const log = join(await tempDir(t), 'ran.log')
  const project = await programAndProject(servers[0]!, appendLine(log))
  const ids = await Promise.all(Array.from({ length: 50 }, async (_, i) => await submit(servers[i % 2]!, project, `line ${i}`)))
  const jobs = await until('the fifty jobs to end', async () => {
    const ended = await (await asAdmin(`${servers[1]!}${project}/jobs?state=ok&state=error&state=cancelled`, 'GET')).json() as Record<string, Job>
    return Object.keys(ended).length === 50 ? ended : undefined
  }, 120)
  t.same(Object.keys(jobs).sort(), [...ids].sort())
  t.ok(Object.values(jobs).every((job) => job.state === 'ok' && job.history.filter((event) => event.state === 'running').length === 1), 'each ran once, and ended ok')
  const lines = (await readFile(log, 'utf8')).trim().split('\n')
  t.equal(lines.length, 50, 'fifty lines')
  t.equal(new Set(lines).size, 50, 'one from each job')
})

for (const kind of databaseKinds) {
  t.test(`${kind}: a server killed while a job runs: once started again, that job is lost and its program gone, and the queued job runs`, async (t) => {
    const database: Record<string, string> = kind === 'pglite'
      ? { DATA_DIR: await migratedDataDir(t) }
      : { DATABASE_URL: await postgresDatabase(t), MIGRATE_ON_START: 'true' }
    const env = {
      ...database, STORAGE_DIR: await tempDir(t, 'mobyle2-storage-'), ...adminEnv,
      JOB_CONCURRENCY: '1', JOB_LOST_AFTER_SECONDS: '5'
    }
    const dir = await tempDir(t)
    const first = await listeningServer(t, env)
    // The program writes its process id and its parent's where the test reads them, then sleeps unless told `quick`.
    const project = await programAndProject(first.url,
      `import os, sys, time; open(os.path.join(${JSON.stringify(dir)}, sys.argv[1]), "w").write(f"{os.getpid()} {os.getppid()}"); sys.argv[1] == "quick" or time.sleep(600)`)
    const sleeper = await submit(first.url, project, 'sleeper')
    const [pid, launcher] = (await until('the sleeper to run', async () => await readFile(join(dir, 'sleeper'), 'utf8').catch(() => undefined) || undefined)).split(' ').map(Number) as [number, number]
    t.not(launcher, first.child.pid, 'a process of its own started it, not the server')
    const quick = await submit(first.url, project, 'quick')
    t.equal((await jobOf(first.url, project, quick)).state, 'queued', 'the one slot is taken: the next job waits')

    first.child.kill('SIGKILL')
    await first.exited
    await gone('the process that started the program to go with its server', launcher, 10)
    await gone('the program to go with it', pid, 10)
    t.pass('a server killed outright leaves no program behind: the process that started them kills them as it goes')
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already, as it should be
      }
    })

    const second = await listeningServer(t, env)
    const lost = await until('the sleeper to be lost', async () => {
      const job = await jobOf(second.url, project, sleeper)
      return job.state === 'running' ? undefined : job
    }, 30)
    t.match(lost, { state: 'error', reason: 'lost', message: /stopped before it ended/ })
    t.same(lost.history.map((event) => event.reason === undefined ? event.state : `${event.state}/${event.reason}`), ['queued', 'running', 'error/lost'])
    const ran = await until('the queued job to end', async () => {
      const job = await jobOf(second.url, project, quick)
      return ['queued', 'running'].includes(job.state) ? undefined : job
    }, 30)
    t.equal(ran.state, 'ok', 'the job that was queued ran on the new server')
  })
}
