import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { JobRoutes } from '../../src/jobs/routes.ts'
import { tempDir } from '../helper.ts'

const site = `
executors:
  cluster: {type: slurm, partition: long, account: bio}
  short: {type: slurm, partition: short, qos: quick}
rules:
  - match: {group: teaching}
    executor: local
  - match: {service: ['blast::*', 'hmmer*::*'], cores: {min: 8}}
    executor: cluster
  - match: {service: 'blast::*'}
    executor: short
  - match: {project: 'genomics', user: 'j?e', ram_mib: {max: 1024}}
    executor: short
default: local
`

t.test('the first rule a job matches names its executor; none, the default', async (t) => {
  const routes = JobRoutes.parse(site, 'local')
  t.same([...routes.executors.keys()], ['local', 'cluster', 'short'], 'local is always there')
  let asked = 0
  const groups = (names: string[]) => async () => { asked++; return names }
  const job = { service: 'blast::pasteur', project: 'genomics', user: 'joe', cores: 1 }
  t.equal(await routes.route({ ...job, cores: 16 }, groups(['teaching'])), 'local', 'a rule on groups comes first')
  t.equal(asked, 1, 'the submitter\'s groups are asked for when a rule looks at them')
  t.equal(await routes.route({ ...job, cores: 16 }, groups([])), 'cluster', 'a service pattern and a minimum of cores')
  t.equal(await routes.route({ ...job, service: 'hmmer3::pasteur', cores: 8 }, groups([])), 'cluster', 'any pattern of the list')
  t.equal(await routes.route(job, groups([])), 'short', 'fewer cores: the next rule')
  t.equal(await routes.route({ ...job, service: 'clustalw::pasteur', ramMiB: 512 }, groups(['students'])), 'short', 'project, user pattern (? one character), memory')
  t.equal(await routes.route({ ...job, service: 'clustalw::pasteur', ramMiB: 4096 }, groups([])), 'local', 'too much memory for that rule: the default')
  t.equal(await routes.route({ ...job, service: 'clustalw::pasteur', user: 'jooe' }, groups([])), 'local')
  t.equal(await routes.route({ ...job, service: 'clustalw::pasteur', user: null }, groups([])), 'local', 'a rule on users matches no system job')
  const dotted = JobRoutes.parse('rules: [{match: {service: "a.b::*"}, executor: local}]', 'slurm')
  t.equal(await dotted.route({ ...job, service: 'a.b::pasteur' }, groups([])), 'local')
  t.equal(await dotted.route({ ...job, service: 'axb::pasteur' }, groups([])), 'slurm', 'a dot is a dot, not any character')
})

t.test('without a routes file, every job goes to JOB_EXECUTOR', async (t) => {
  t.equal(await JobRoutes.only('slurm').route({ service: 'a::b', project: 'p', user: 'u' }, async () => []), 'slurm')
  t.same([...JobRoutes.only('local').executors.keys()], ['local'])
  const routes = JobRoutes.parse('rules: []', 'slurm')
  t.same([...routes.executors.keys()], ['local', 'slurm'], 'JOB_EXECUTOR=slurm with a file that names no slurm: the default one')
  t.equal(routes.fallback, 'slurm')
  t.equal(JobRoutes.parse('{"default": "local"}', 'slurm').fallback, 'local', 'JSON too; the file\'s default wins')
  t.equal(JobRoutes.parse('', 'local').fallback, 'local', 'an empty file')
})

t.test('a routes file that is wrong is refused, saying where', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['rules: [', /not JSON or YAML/],
    ['rules: [{match: {servce: x}, executor: local}]', /\/rules\/0\/match.*servce|servce/],
    ['rules: [{match: {}, executor: cluster}]', /\/rules\/0\/executor: no executor named cluster \(known: local\)/],
    ['default: elsewhere', /\/default: no executor named elsewhere/],
    ['executors: {Big: {type: slurm}}', /\/executors\/Big: an executor's name/],
    ['executors: {local: {type: slurm}}', /\/executors\/local: local is the processes' own executor, the only one of its type/],
    ['executors: {mine: {type: local}}', /\/executors\/mine: local is the processes' own executor/],
    ['executors: {k8s: {type: kubernetes}}', /\/executors\/k8s/],
    ['executors: {c: {type: slurm, partition: "a b"}}', /\/executors\/c/],
    ['rules: [{match: {cores: {min: 8, max: 2}}, executor: local}]', /\/rules\/0\/match\/cores: min is above max/],
    ['- local', /the routes: \/ /]
  ]
  for (const [text, message] of refused) t.throws(() => JobRoutes.parse(text, 'local'), { name: 'RoutesError', message }, text)
  const dir = await tempDir(t)
  t.throws(() => JobRoutes.load(join(dir, 'missing.yaml'), 'local'), { message: /JOB_ROUTES=.*missing.yaml: cannot read it/ })
  await writeFile(join(dir, 'routes.yaml'), site)
  t.equal(JobRoutes.load(join(dir, 'routes.yaml'), 'local').executors.size, 3, 'a file read from disk')
})
