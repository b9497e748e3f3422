/**
 * Configuration from environment variables, validated once at start-up. A bad
 * value stops the process with a message naming the variable.
 */
import Type, { type Static } from 'typebox'
import { Value } from 'typebox/value'
import { JobRoutes, type SlurmDefaults } from './jobs/routes.ts'
import { PeerAllowlist } from './peer-allowlist.ts'

const Integer = (options: { minimum: number, maximum: number, default: number, description: string }) =>
  Type.Integer(options)

export const ConfigSchema = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address to listen on.' }),
  PORT: Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port to listen on (0 picks a free one).' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'Directory of the embedded database (PGlite).' }),
  DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://',
    description: 'A PostgreSQL server (postgres://user:pass@host:5432/db); when unset, the embedded database is used.'
  })),
  STORAGE_DIR: Type.Optional(Type.String({
    minLength: 1,
    description: 'Directory of data items\' content (blobs/ below it); every server process sharing DATABASE_URL must see the same one. Default: DATA_DIR.'
  })),
  DATA_MAX_BYTES: Integer({
    minimum: 0, maximum: 2 ** 40, default: 1024 ** 3,
    description: 'Largest content of one data item, in bytes: a larger upload is refused (413) as soon as it passes this, with nothing kept.'
  }),
  DATA_PROJECT_QUOTA_BYTES: Integer({
    minimum: 0, maximum: 2 ** 50, default: 10 * 1024 ** 3,
    description: 'Most bytes all data items of one project may hold together (identical content counted per item); past it an upload is refused (507).'
  }),
  DATA_MAX_PARTS: Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Most parts (fields and files) of one multipart upload.' }),
  DATA_MAX_FIELD_BYTES: Integer({
    minimum: 1024, maximum: 1024 * 1024, default: 16 * 1024,
    description: 'Largest text field (name, description, format) of a multipart upload, in bytes.'
  }),
  DATA_SWEEP_INTERVAL_SECONDS: Integer({
    minimum: 0, maximum: 7 * 86400, default: 3600,
    description: 'Sweep the blob store this often (content no item refers to, uploads left unfinished); 0: only at start.'
  }),
  UPLOAD_EXPIRY_SECONDS: Integer({
    minimum: 1, maximum: 30 * 86400, default: 86400,
    description: 'How long a resumable upload (/uploads) lives after its creation, finished or not: make it a data item before then; the sweep removes it after.'
  }),
  JOB_CONCURRENCY: Type.Optional(Type.Integer({
    minimum: 0, maximum: 100_000,
    description: 'Jobs this process runs at once on the local executor (src/jobs/), or follows on Slurm with JOB_EXECUTOR=slurm and no routes file: unset, one per core (100 on Slurm); 0, none at all (an API server whose jobs other processes run).'
  })),
  JOB_EXECUTOR: Type.Enum(['local', 'slurm'], {
    default: 'local',
    description: 'Where jobs run when no route of JOB_ROUTES says otherwise: local, as child processes of the processes running jobs; slurm, submitted to the Slurm cluster their sbatch reaches (docs/slurm.md).'
  }),
  JOB_ROUTES: Type.Optional(Type.String({
    minLength: 1, description: 'A file (JSON or YAML) of named executors and ordered rules choosing one for each submitted job (docs/jobs.md#routes); read at start.'
  })),
  JOB_WORK_DIR: Type.Optional(Type.String({
    minLength: 1, description: 'Directory of the jobs\' working directories (<job>/<attempt>/work). Default: STORAGE_DIR (or DATA_DIR) followed by /jobs.'
  })),
  JOB_TIMEOUT_SECONDS: Integer({
    minimum: 1, maximum: 2_000_000, default: 86400, description: 'Longest a job\'s program may run: past it, it is stopped and the job ends error/timeout.'
  }),
  JOB_MAX_OUTPUT_BYTES: Integer({
    minimum: 1024, maximum: 2 ** 40, default: 64 * 1024 ** 2,
    description: 'Most bytes kept of each of a job\'s standard output and error: a program writing more is stopped and the job ends error/output-limit.'
  }),
  JOB_LOST_AFTER_SECONDS: Integer({
    minimum: 5, maximum: 86400, default: 60,
    description: 'A process running jobs that has not been heard of for this long is gone: its running jobs end error/lost (it beats every fifth of this).'
  }),
  JOB_SLURM_PARTITION: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$', description: 'The Slurm partition(s) jobs are submitted to (sbatch --partition); unset: the cluster\'s default.'
  })),
  JOB_SLURM_ACCOUNT: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'The Slurm account jobs are charged to (sbatch --account).' })),
  JOB_SLURM_QOS: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'The Slurm quality of service of jobs (sbatch --qos).' })),
  JOB_SLURM_POLL_MS: Integer({
    minimum: 100, maximum: 600_000, default: 2000,
    description: 'How often the Slurm jobs this process follows are asked for, all in one squeue call.'
  }),
  MIGRATE_ON_START: Type.Boolean({ default: false, description: 'Apply pending migrations to PostgreSQL at start (the embedded database always is).' }),
  DATABASE_POOL_SIZE: Integer({ minimum: 1, maximum: 500, default: 10, description: 'Connections kept to PostgreSQL.' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  LOG_FORMAT: Type.Enum(['auto', 'json', 'pretty'], {
    default: 'auto',
    description: 'json: one JSON object per line (pino); pretty: readable lines; auto: pretty when standard output is a terminal.'
  }),
  REQUEST_TIMEOUT_SECONDS: Integer({
    minimum: 1, maximum: 3600, default: 30,
    description: 'Longest a request may take to arrive, headers and body: a slower one is answered 408 and its connection closed.'
  }),
  SHUTDOWN_TIMEOUT_SECONDS: Integer({
    minimum: 1, maximum: 3600, default: 10,
    description: 'On SIGTERM or SIGINT, how long requests in flight may take to finish before the process exits anyway.'
  }),
  MAX_CONNECTIONS: Integer({
    minimum: 1, maximum: 1_000_000, default: 1000,
    description: 'Most client connections open at once; more are closed as they arrive.'
  }),
  BODY_LIMIT: Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 1024 * 1024, description: 'Largest request body, in bytes.' }),
  CORS_ORIGINS: Type.String({ default: '', description: 'Comma-separated origins allowed by CORS; empty allows none, * allows any.' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'Take the client address from X-Forwarded-For.' }),
  LOGIN_MAX_FAILURES: Integer({
    minimum: 1, maximum: 1000, default: 4,
    description: 'Failed logins allowed per username from one client address within the window; then that username\'s password attempts from that address are refused.'
  }),
  LOGIN_MAX_ADDRESS_FAILURES: Integer({
    minimum: 1, maximum: 100000, default: 20,
    description: 'Failed logins (any usernames, and invalid API keys) allowed from one client address within the window; then password attempts from that address are refused (valid API keys are still accepted).'
  }),
  LOGIN_USERNAME_SLOW_AFTER: Integer({
    minimum: 1, maximum: 100000, default: 20,
    description: 'Failed logins per username from all addresses within the window after which each attempt for it must wait 1, 2, 4 ... seconds after its last failure (slowed, never locked).'
  }),
  LOGIN_USERNAME_MAX_DELAY_SECONDS: Integer({
    minimum: 1, maximum: 3600, default: 60, description: 'The longest wait the username-wide slowing asks for.'
  }),
  LOGIN_WINDOW_SECONDS: Integer({ minimum: 1, maximum: 86400, default: 600, description: 'The login throttle window: how long a failed login counts.' }),
  CREDENTIAL_CACHE_SECONDS: Integer({ minimum: 0, maximum: 3600, default: 60, description: 'How long a verified password is remembered (0 disables).' }),
  READ_CACHE_ENTRIES: Integer({
    minimum: 0, maximum: 1_000_000, default: 10_000,
    // Two answers per caller polling its own record (its key, its record): a thousand such callers in turn need 2,000.
    description: 'Read answers each server process remembers while the tables they read are unchanged (0: none, every read queries the database).'
  }),
  READ_CACHE_VALUES: Integer({
    minimum: 1000, maximum: 1_000_000_000, default: 1_000_000,
    description: 'Values (objects, strings, numbers) all remembered answers may hold together, which bounds their memory (about 60 bytes each).'
  }),
  SERVER_NAME: Type.String({
    minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', default: 'local',
    description: 'This server\'s name among mobyle2 servers: listed in its own /servers/, and the server of its own services. Give each federated server its own.'
  }),
  PUBLIC_URL: Type.Optional(Type.String({
    maxLength: 2048, pattern: '^https?://[^\\s]+$',
    description: 'The address other servers and clients reach this one at (default http://HOST:PORT).'
  })),
  SYNC_INTERVAL_SECONDS: Integer({
    minimum: 0, maximum: 7 * 86400, default: 0,
    description: 'Sync every peer this often (0: only when asked, by POST /servers/{name}/sync, JSON-RPC pull or XML-RPC action("sync", …)).'
  }),
  SYNC_CONNECT_TIMEOUT_SECONDS: Integer({ minimum: 1, maximum: 300, default: 5, description: 'Longest wait to connect to a peer.' }),
  SYNC_TIMEOUT_SECONDS: Integer({ minimum: 1, maximum: 3600, default: 30, description: 'Longest a peer may take to answer a sync, every page and redirect included.' }),
  SYNC_MAX_REDIRECTS: Integer({ minimum: 0, maximum: 10, default: 3, description: 'Redirects a sync follows.' }),
  SYNC_MAX_BYTES: Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 16 * 1024 * 1024, description: 'Largest answer (all pages together) a peer may send, in bytes.' }),
  SYNC_MAX_SERVICES: Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Most services a peer\'s answer may list.' }),
  PEER_ALLOWLIST: Type.String({
    default: '',
    description: 'Hosts a sync may contact, comma-separated: host, host:port, *.domain, IP literals, CIDR ranges; empty allows any. When set, a name resolving to a loopback, link-local, private or unspecified address is refused unless that address is listed too (see docs/federation.md).'
  }),
  MOBYLE_ADMIN_USERNAME: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  MOBYLE_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
  MOBYLE_ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 20, maxLength: 200 }))
})

/** The variables, and what is parsed from them once. */
export type Config = Static<typeof ConfigSchema> & { peerAllowlist: PeerAllowlist, jobRoutes: JobRoutes }

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the configuration from `env`; throws ConfigError naming each bad variable. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw))
  if (Value.Check(ConfigSchema, converted)) {
    const config = converted
    if ((config.MOBYLE_ADMIN_USERNAME === undefined) !== (config.MOBYLE_ADMIN_PASSWORD === undefined)) {
      throw new ConfigError('MOBYLE_ADMIN_USERNAME and MOBYLE_ADMIN_PASSWORD must be set together')
    }
    if (config.MOBYLE_ADMIN_API_KEY !== undefined && config.MOBYLE_ADMIN_USERNAME === undefined) {
      throw new ConfigError('MOBYLE_ADMIN_API_KEY needs MOBYLE_ADMIN_USERNAME and MOBYLE_ADMIN_PASSWORD')
    }
    try {
      return {
        ...config,
        peerAllowlist: PeerAllowlist.parse(config.PEER_ALLOWLIST),
        jobRoutes: config.JOB_ROUTES === undefined ? JobRoutes.only(config.JOB_EXECUTOR, slurmDefaults(config)) : JobRoutes.load(config.JOB_ROUTES, config.JOB_EXECUTOR, slurmDefaults(config))
      }
    } catch (error) {
      throw new ConfigError((error as Error).message)
    }
  }
  const problems = new Map<string, string>()
  for (const error of Value.Errors(ConfigSchema, converted)) {
    const name = error.instancePath.replace(/^\//, '')
    if (!problems.has(name)) {
      problems.set(name, `${name}=${JSON.stringify(env[name] ?? '')}: ${error.message}`)
    }
  }
  throw new ConfigError(`invalid configuration: ${[...problems.values()].join('; ')}`)
}

/** The `slurm` executor of JOB_EXECUTOR=slurm: JOB_SLURM_*, and JOB_CONCURRENCY for the jobs it follows at once. */
function slurmDefaults (config: Static<typeof ConfigSchema>): SlurmDefaults {
  return omitUndefined({ partition: config.JOB_SLURM_PARTITION, account: config.JOB_SLURM_ACCOUNT, qos: config.JOB_SLURM_QOS, max_jobs: config.JOB_CONCURRENCY })
}

function omitUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

/** The address other servers reach this one at: PUBLIC_URL, or HOST and PORT. */
export function publicUrl (config: Config): string {
  if (config.PUBLIC_URL !== undefined) return config.PUBLIC_URL.replace(/\/+$/, '')
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
  return `http://${host}:${config.PORT}`
}

export function corsOrigins (config: Config): string[] {
  return config.CORS_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== '')
}
