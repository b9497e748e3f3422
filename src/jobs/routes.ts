/**
 * Where a job runs. A site names its executors and orders rules in a file
 * (JOB_ROUTES, JSON or YAML); each submitted job goes to the executor of the
 * first rule it matches, else to the default (JOB_EXECUTOR). The choice is made
 * once, at submission, and kept on the job: each process's dispatchers claim the
 * jobs of the executors it runs, and anyone can see where a job went.
 *
 * A leaf of the configuration (src/config.ts reads the file at start): it imports
 * nothing of the server's.
 */
import { readFileSync } from 'node:fs'
import Type, { type Static } from 'typebox'
import { Value } from 'typebox/value'
import { parse } from 'yaml'

const executorNamePattern = '^[a-z][a-z0-9_-]{0,49}$'
const ExecutorName = Type.String({ pattern: executorNamePattern, description: 'An executor\'s name, as jobs record it.' })
const Patterns = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1 })])
const Range = Type.Object({ min: Type.Optional(Type.Number({ minimum: 0 })), max: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false })

const LocalExecutorSpec = Type.Object({ type: Type.Literal('local') }, { additionalProperties: false })
const SlurmExecutorSpec = Type.Object({
  type: Type.Literal('slurm'),
  partition: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.,-]+$' })),
  account: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' })),
  qos: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' })),
  /** How many of its jobs one process follows at once (submitted, pending or running). */
  max_jobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 }))
}, { additionalProperties: false })
const ExecutorSpec = Type.Union([LocalExecutorSpec, SlurmExecutorSpec])

const Rule = Type.Object({
  /** Every condition given must hold; none given matches every job. */
  match: Type.Object({
    service: Type.Optional(Patterns),
    project: Type.Optional(Patterns),
    user: Type.Optional(Patterns),
    group: Type.Optional(Patterns),
    cores: Type.Optional(Range),
    ram_mib: Type.Optional(Range)
  }, { additionalProperties: false }),
  executor: ExecutorName
}, { additionalProperties: false })

const RoutesFile = Type.Object({
  executors: Type.Optional(Type.Record(Type.String(), ExecutorSpec)),
  rules: Type.Optional(Type.Array(Rule)),
  default: Type.Optional(ExecutorName)
}, { additionalProperties: false })

export type ExecutorSpec = Static<typeof ExecutorSpec>
/** The `slurm` executor JOB_EXECUTOR=slurm names when no routes file does: JOB_SLURM_PARTITION and the like. */
export type SlurmDefaults = Omit<Static<typeof SlurmExecutorSpec>, 'type'>
type Rule = Static<typeof Rule>

/** What a rule may look at of a submitted job. */
export interface JobFacts {
  /** The program's full name (`name::server`, `name::project::server`). */
  service: string
  /** The project's name. */
  project: string
  /** The submitter's username; none for the system. */
  user: string | null
  /** What the interface asks for (ResourceRequirement's minimums). */
  cores?: number
  ramMiB?: number
}

class RoutesError extends Error {
  override name = 'RoutesError'
}

export class JobRoutes {
  private constructor (
    /** Every executor jobs may be sent to, by name. */
    readonly executors: ReadonlyMap<string, ExecutorSpec>,
    private readonly rules: readonly Rule[],
    /** Where a job no rule matches goes. */
    readonly fallback: string
  ) {}

  /** The routes of a site without a routes file: every job to `executor` (JOB_EXECUTOR). */
  static only (executor: 'local' | 'slurm', slurm: SlurmDefaults = {}): JobRoutes {
    return new JobRoutes(new Map([[executor, executor === 'local' ? { type: 'local' } : { type: 'slurm', ...slurm }]]), [], executor)
  }

  /** Reads and checks the routes file `path`; throws RoutesError saying what is wrong and where. */
  static load (path: string, fallback: 'local' | 'slurm', slurm: SlurmDefaults = {}): JobRoutes {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      throw new RoutesError(`JOB_ROUTES=${path}: cannot read it: ${(error as Error).message}`)
    }
    return JobRoutes.parse(text, fallback, { where: `JOB_ROUTES=${path}`, slurm })
  }

  /** Checks the text of a routes file (JSON is YAML too); `where` prefixes each problem. */
  static parse (text: string, fallback: 'local' | 'slurm', { where = 'the routes', slurm = {} }: { where?: string, slurm?: SlurmDefaults } = {}): JobRoutes {
    let document: unknown
    try {
      document = parse(text) ?? {}
    } catch (error) {
      throw new RoutesError(`${where}: not JSON or YAML: ${(error as Error).message}`)
    }
    if (!Value.Check(RoutesFile, document)) {
      const problems = [...Value.Errors(RoutesFile, document)].slice(0, 5).map((error) => `${error.instancePath || '/'} ${error.message}`)
      throw new RoutesError(`${where}: ${problems.join('; ')}`)
    }
    const executors = new Map<string, ExecutorSpec>([['local', { type: 'local' }]])
    for (const [name, spec] of Object.entries(document.executors ?? {})) {
      if (!new RegExp(executorNamePattern).test(name)) throw new RoutesError(`${where}: /executors/${name}: an executor's name is lower-case letters, digits, - and _`)
      if ((name === 'local') !== (spec.type === 'local')) throw new RoutesError(`${where}: /executors/${name}: local is the processes' own executor, the only one of its type`)
      executors.set(name, spec)
    }
    if (fallback === 'slurm' && !executors.has('slurm')) executors.set('slurm', { type: 'slurm', ...slurm })
    const known = (name: string, at: string): string => {
      if (!executors.has(name)) throw new RoutesError(`${where}: ${at}: no executor named ${name} (known: ${[...executors.keys()].join(', ')})`)
      return name
    }
    const rules = document.rules ?? []
    rules.forEach((rule, i) => {
      known(rule.executor, `/rules/${i}/executor`)
      for (const field of ['cores', 'ram_mib'] as const) {
        const range = rule.match[field]
        if (range?.min !== undefined && range.max !== undefined && range.min > range.max) throw new RoutesError(`${where}: /rules/${i}/match/${field}: min is above max`)
      }
    })
    return new JobRoutes(executors, rules, known(document.default ?? fallback, '/default'))
  }

  /**
   * The executor of the first rule the job matches, else the default. `groupsOf`
   * answers the submitter's groups, asked only when a rule looks at them.
   */
  async route (job: JobFacts, groupsOf: () => Promise<string[]>): Promise<string> {
    let groups: string[] | undefined
    for (const { match, executor } of this.rules) {
      if (match.service !== undefined && !matches(match.service, job.service)) continue
      if (match.project !== undefined && !matches(match.project, job.project)) continue
      if (match.user !== undefined && (job.user === null || !matches(match.user, job.user))) continue
      if (match.cores !== undefined && !within(match.cores, job.cores ?? 1)) continue
      if (match.ram_mib !== undefined && !within(match.ram_mib, job.ramMiB ?? 0)) continue
      if (match.group !== undefined) {
        groups ??= await groupsOf()
        if (!groups.some((group) => matches(match.group!, group))) continue
      }
      return executor
    }
    return this.fallback
  }
}

/** Whether `value` matches one of the patterns: `*` any run of characters, `?` one, the rest itself. */
function matches (patterns: string | string[], value: string): boolean {
  return (Array.isArray(patterns) ? patterns : [patterns]).some((pattern) => globPattern(pattern).test(value))
}

const compiled = new Map<string, RegExp>()
function globPattern (pattern: string): RegExp {
  let regexp = compiled.get(pattern)
  if (regexp === undefined) {
    const source = [...pattern].map((c) => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')).join('')
    regexp = new RegExp(`^${source}$`, 's')
    compiled.set(pattern, regexp)
  }
  return regexp
}

function within (range: Static<typeof Range>, value: number): boolean {
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max)
}
