/**
 * What the benchmark asks, and how each question is measured against the server
 * child: a check by hand, a warm-up, then the measured load with the server's
 * peak memory over it, then the check again.
 */
import type autocannon from 'autocannon'
import { Load, percentile, pool, verify, type Call, type LoadStats } from './load.ts'
import type { World } from './seed.ts'
import { cpuMilliseconds, PeakMemory, sleep, type DatabaseKind, type RunningServer } from './server.ts'
import { round } from './stats.ts'

type Face = 'rest' | 'xmlrpc' | 'jsonrpc' | 'floor'

export interface Result {
  name: string
  face: Face
  database: DatabaseKind
  connections: number
  req_per_s: number
  p50_ms: number
  p99_ms: number
  rss_mb: number
  /**
   * The server's CPU time per answer in the window, in microseconds (what the route
   * costs the server, whoever set the pace); null when other loads shared the window.
   */
  server_cpu_us: number | null
  /**
   * The server's CPU time over the window's length: near 1 (or above, with its other
   * threads) the server set the pace; well below, the load generator or the kernel did.
   */
  server_busy: number
  /** req_per_s over the floor's at the same connections, same run and server; null for a rate the bench sets. */
  ratio_to_floor: number | null
  /**
   * For a scenario that is a harder version of another (many keys for one, reads under
   * writes for reads quiet): that other, measured again just before it, and req_per_s over its.
   */
  reference?: { name: string, req_per_s: number, ratio: number }
}

export interface ReadScenario {
  name: string
  face: Face
  connections: number[]
  call: Call
  /** What is wrong with a 2xx answer, if anything: the RPC faces answer errors with HTTP 200. */
  refuse?: (body: string) => string | null
  /** In the quick run too. */
  quick?: boolean
}

export interface Plan {
  quick: boolean
  warmupSeconds: number
  seconds: number
  /** Writes per second in the write mix that runs beside a read. */
  writeRate: number
  /** Only the scenarios whose name contains this (the floor always runs: ratios are to it). */
  only?: string
}

const basic = (user: { username: string, password: string }): string =>
  `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`

const xmlRpcFault = (body: string): string | null => body.includes('<fault>') ? 'an XML-RPC fault' : null

/** RhodeCode's envelope carries failures in `error`, and get_user/get_repo answer null for what is not there. */
const jsonRpcError = (body: string): string | null => {
  const answer = JSON.parse(body) as { error?: unknown, result?: unknown }
  if (answer.error !== null && answer.error !== undefined) return `JSON-RPC error ${JSON.stringify(answer.error)}`
  return answer.result === null || answer.result === undefined ? 'a null result' : null
}

export function readScenarios (world: World): ReadScenario[] {
  const { member } = world
  const asMember = { 'x-api-key': member.apiKey }
  const xml = { 'content-type': 'text/xml' }
  const json = { 'content-type': 'application/json' }
  const envelope = (method: string, args: Record<string, unknown>): string => JSON.stringify({ id: 1, api_key: member.apiKey, method, args })
  return [
    { name: 'GET /healthz', face: 'floor', connections: [1, 10, 100], call: { method: 'GET', path: '/healthz' }, quick: true },
    { name: 'GET /servers/ anonymous', face: 'rest', connections: [1, 10, 100], call: { method: 'GET', path: '/servers/' }, quick: true },
    // As browsers and Python's requests ask for it: the same bytes, gzip-compressed once per change.
    { name: 'GET /servers/ anonymous, gzip', face: 'rest', connections: [10], call: { method: 'GET', path: '/servers/', headers: { 'accept-encoding': 'gzip' } } },
    { name: 'GET /services/?limit=100 anonymous', face: 'rest', connections: [10], call: { method: 'GET', path: '/services/?limit=100' } },
    { name: 'GET /servers/ API key', face: 'rest', connections: [10], call: { method: 'GET', path: '/servers/', headers: asMember } },
    { name: 'GET /users/{id} API key', face: 'rest', connections: [10], call: { method: 'GET', path: `/users/${member.id}`, headers: asMember }, quick: true },
    {
      name: 'GET /users/{id} Basic', face: 'rest', connections: [10], quick: true,
      call: { method: 'GET', path: `/users/${member.id}`, headers: { authorization: basic(member) } }
    },
    { name: 'GET /projects/{id} member', face: 'rest', connections: [10], call: { method: 'GET', path: `/projects/${world.memberProject}`, headers: asMember } },
    {
      name: 'XML-RPC display(user) Basic', face: 'xmlrpc', connections: [10], quick: true, refuse: xmlRpcFault,
      call: {
        method: 'POST', path: '/xmlrpc', headers: { ...xml, authorization: basic(member) },
        body: `<?xml version="1.0"?><methodCall><methodName>display</methodName><params><param><value><string>user${member.id}</string></value></param></params></methodCall>`
      }
    },
    {
      name: 'JSON-RPC get_user', face: 'jsonrpc', connections: [10], quick: true, refuse: jsonRpcError,
      call: { method: 'POST', path: '/_admin/api', headers: json, body: envelope('get_user', { userid: member.id }) }
    },
    {
      name: 'JSON-RPC get_repo', face: 'jsonrpc', connections: [10], refuse: jsonRpcError,
      call: { method: 'POST', path: '/_admin/api', headers: json, body: envelope('get_repo', { repoid: world.memberProject }) }
    }
  ]
}

/**
 * Writes as the administrator: new services (named from `prefix` and a counter,
 * so each is new), changes to server-level services, and project member roles.
 */
function writeRequests (world: World, prefix: string, kinds: Array<'create' | 'update' | 'member'>): autocannon.Request[] {
  let n = 0
  const roles = ['watcher', 'contributor', 'manager']
  const at = <T>(items: T[], i: number): T => items[i % items.length]!
  const requests = {
    create: {
      method: 'POST' as const,
      path: '/services',
      setupRequest: (request: autocannon.Request) => {
        n++
        return { ...request, body: JSON.stringify({ name: `${prefix}-${n}`, server: at(world.serverNames, n), type: 'program' }) }
      }
    },
    update: {
      method: 'PATCH' as const,
      setupRequest: (request: autocannon.Request) => {
        n++
        return { ...request, path: `/services/${at(world.serverServices, n)}`, body: JSON.stringify({ description: `changed by ${prefix} ${n}` }) }
      }
    },
    member: {
      method: 'PUT' as const,
      setupRequest: (request: autocannon.Request) => {
        n++
        const project = at(world.projects, n * 7)
        // The owner cannot be given a role: take the next user then.
        let user = at(world.userIds, n * 13)
        if (user === project.ownerId) user = at(world.userIds, n * 13 + 1)
        return { ...request, path: `/projects/${project.id}/members/${user}`, body: JSON.stringify({ role: at(roles, n) }) }
      }
    }
  }
  return kinds.map((kind) => requests[kind])
}

/** The calls `requests` would make first, for a check by hand. */
function firstCalls (requests: autocannon.Request[], headers: Record<string, string>): Call[] {
  return requests.map((request) => {
    const built = typeof request.setupRequest === 'function' ? request.setupRequest({ ...request }, {}) : request
    return { method: built.method as Call['method'], path: built.path ?? '/', headers: { ...headers, ...built.headers as Record<string, string> }, body: built.body as string }
  })
}

/** What the server spent over a measuring window. */
interface ServerUse { rssMb: number, busy: number, cpuUsPerAnswer: number | null }

/**
 * Warms the loads up together, measures them over one window with the server's
 * peak memory, stops them, and waits for the server to be idle again.
 */
export async function measure (server: RunningServer, plan: Plan, loads: Load[]): Promise<{ stats: LoadStats[], use: ServerUse }> {
  const peak = new PeakMemory(server.pid)
  try {
    await Promise.all(loads.map(async (load) => { await load.warm(plan.warmupSeconds) }))
    peak.start()
    const cpuFrom = cpuMilliseconds(server.pid)
    for (const load of loads) load.openWindow()
    await sleep(plan.seconds * 1000)
    const stats = loads.map((load) => load.closeWindow())
    const cpuMs = cpuMilliseconds(server.pid) - cpuFrom
    const rssMb = peak.stop()
    await Promise.all(loads.map(async (load) => { await load.stop() }))
    await server.settle()
    const windowMs = 1000 * Math.max(...stats.map((s) => s.seconds))
    const answers = stats.reduce((sum, s) => sum + s.answers, 0)
    return { stats, use: { rssMb, busy: cpuMs / windowMs, cpuUsPerAnswer: loads.length === 1 ? 1000 * cpuMs / answers : null } }
  } catch (error) {
    for (const load of loads) load.abort()
    throw error
  }
}

/** Every scenario of the plan on one server; results in the order run. */
export async function runScenarios (server: RunningServer, world: World, database: DatabaseKind, plan: Plan,
  progress: (line: string) => void): Promise<Result[]> {
  const results: Result[] = []
  const floor = new Map<number, number>()
  const record = (name: string, face: Face, connections: number, stats: LoadStats, server: ServerUse, rated = true,
    reference?: Result): void => {
    const reqPerS = stats.answers / stats.seconds
    if (face === 'floor') floor.set(connections, reqPerS)
    const floorRate = floor.get(connections)
    const result: Result = {
      name, face, database, connections,
      req_per_s: round(reqPerS, 1),
      p50_ms: round(percentile(stats.latencies, 0.5), 3),
      p99_ms: round(percentile(stats.latencies, 0.99), 3),
      rss_mb: round(server.rssMb, 1),
      server_cpu_us: server.cpuUsPerAnswer === null ? null : round(server.cpuUsPerAnswer, 1),
      server_busy: round(server.busy, 2),
      ratio_to_floor: rated && floorRate !== undefined ? Number((reqPerS / floorRate).toPrecision(3)) : null,
      ...(reference === undefined
        ? {}
        : { reference: { name: reference.name, req_per_s: reference.req_per_s, ratio: Number((reqPerS / reference.req_per_s).toPrecision(3)) } })
    }
    results.push(result)
    progress(`${database} ${name} ×${connections}: ${result.req_per_s} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${result.rss_mb} MB`)
  }
  const named = async (name: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work()
    } catch (error) {
      throw new Error(`${database} scenario "${name}" failed: ${(error as Error).message}`, { cause: error })
    }
  }

  const chosen = (name: string): boolean => plan.only === undefined || name.includes(plan.only)
  const reads = readScenarios(world).filter((scenario) => !plan.quick || scenario.quick === true)
  /** `read` measured again now, recorded as such: the reference of the harder scenario that follows it. */
  const again = async (read: ReadScenario): Promise<Result> => {
    const { stats: [stats], use } = await measure(server, plan, [new Load(server.url, { connections: 10, call: read.call })])
    record(`${read.name}, again just before`, read.face, 10, stats!, use)
    return results.at(-1)!
  }
  for (const scenario of reads.filter((read) => read.face === 'floor' || chosen(read.name))) {
    for (const connections of plan.quick ? [10] : scenario.connections) {
      await named(scenario.name, async () => {
        await verify(server.url, scenario.call, scenario.refuse)
        const { stats: [stats], use } = await measure(server, plan, [new Load(server.url, { connections, call: scenario.call })])
        // Once more by hand: an RPC error under load (a throttled login, say) would still be an HTTP 200.
        await verify(server.url, scenario.call, scenario.refuse)
        record(scenario.name, scenario.face, connections, stats!, use)
      })
    }
  }
  if (plan.quick) return results

  const asAdmin = adminHeaders(world)

  // A read while writes arrive at a fixed rate: what the writes cost the reads (and, with caches, their invalidation).
  const listing = reads.find((scenario) => scenario.name === 'GET /services/?limit=100 anonymous')!
  const underWrites = `${listing.name}, under writes`
  // One write a second per connection: the rate holds as long as a write takes under a second,
  // where fewer connections would cap it at connections ÷ latency, below the rate asked.
  const writers = plan.writeRate
  const mixName = `write mix at ${plan.writeRate}/s: POST+PATCH /services/, PUT /projects/{id}/members/{user}`
  if (chosen(mixName) || chosen(underWrites)) await named(mixName, async () => {
    for (const call of firstCalls(writeRequests(world, 'bench-check', ['create', 'update', 'member']), asAdmin)) await verify(server.url, call)
    const { stats: [readStats, writeStats], use } = await measure(server, plan, [
      new Load(server.url, { connections: 10, call: listing.call }),
      new Load(server.url, { connections: writers, requests: writeRequests(world, 'bench-mix', ['create', 'update', 'member']), headers: asAdmin, overallRate: plan.writeRate })
    ])
    record(underWrites, 'rest', 10, readStats!, use)
    record(mixName, 'rest', writers, writeStats!, use, false)
  })

  // Many callers, each with its own key, each asking for its own record, round robin, for longer than
  // bookkeeping's interval (a key's last use is written once a minute): what a thousand scripts polling cost.
  const manyUsers = `GET /users/{id} API key, ${world.keyHolders.length} users round robin`
  if (chosen(manyUsers)) await named(manyUsers, async () => {
    const [first] = manyUsersRequests(world)
    await verify(server.url, firstCalls([first!], {})[0]!)
    const oneKey = await again(readScenarios(world).find((scenario) => scenario.name === 'GET /users/{id} API key')!)
    const { stats: [stats], use } = await measure(server, { ...plan, seconds: manyUsersSeconds },
      [new Load(server.url, { connections: 10, requests: manyUsersRequests(world) })])
    record(manyUsers, 'rest', 10, stats!, use, true, oneKey)
  })

  // Reads while another table's rows change fast (jobs are added to a project): answers that do not
  // read jobs must stay remembered. The same reads quiet are measured above, in this run.
  let rostersRead: Promise<void> | undefined
  for (const read of reads.filter((scenario) => churnedReads.includes(scenario.name))) {
    const name = `${read.name}, under ${jobRate} job writes/s`
    if (chosen(name)) await named(name, async () => {
      const jobs = jobRequests(world)
      // A submission reads its project's roster, remembered from then on (nothing here changes a project's
      // members): each project is submitted to once first, as on a server that has been running a while,
      // so that the churn is job rows, not 200 projects a second seen for the first time.
      rostersRead ??= submitToEachProject(server.url, world)
      await rostersRead
      const quiet = await again(read)
      const { stats: [readStats, writeStats], use } = await measure(server, plan, [
        new Load(server.url, { connections: 10, call: read.call }),
        new Load(server.url, { connections: 20, requests: jobs, headers: asAdmin, overallRate: jobRate })
      ])
      record(name, 'rest', 10, readStats!, use, true, quiet)
      record(`POST /projects/{id}/jobs at ${jobRate}/s, beside ${read.name}`, 'rest', 20, writeStats!, use, false)
    })
  }

  // Writes alone, as fast as they go: every request creates a new service.
  if (chosen(createsName)) await named(createsName, async () => {
    const creates = new Load(server.url, { connections: 10, ...createsLoad(world) })
    const { stats: [stats], use } = await measure(server, plan, [creates])
    record(createsName, 'rest', 10, stats!, use)
  })
  return results
}

const createsName = 'POST /services/ API key, a new service each'

/** Longer than bookkeeping's interval (src/domain/read-model.ts), so that every key's last use is written again inside the window. */
const manyUsersSeconds = 75
const jobRate = 200
const churnedReads = ['GET /services/?limit=100 anonymous', 'GET /servers/ anonymous']

/** Each key holder asking for its own record with its own key, in turn. */
function manyUsersRequests (world: World): autocannon.Request[] {
  let n = 0
  return [{
    method: 'GET',
    setupRequest: (request: autocannon.Request) => {
      const holder = world.keyHolders[n++ % world.keyHolders.length]!
      return { ...request, path: `/users/${holder.id}`, headers: { ...request.headers, 'x-api-key': holder.apiKey } }
    }
  }]
}

const jobsName = 'POST /projects/{id}/jobs API key, a new job each'

/** Loads of changing requests by name, for bench:profile: each request a new service, or a new job, or another user's key. */
export const requestLoads: Record<string, (world: World) => { requests: autocannon.Request[], headers: Record<string, string> }> = {
  [createsName]: createsLoad,
  'GET /users/{id} API key, many users round robin': (world) => ({ requests: manyUsersRequests(world), headers: {} }),
  [jobsName]: (world) => ({ requests: jobRequests(world), headers: adminHeaders(world) })
}

/** One submission to each project, ten at a time, in the order of jobRequests. */
async function submitToEachProject (url: string, world: World): Promise<void> {
  const [request] = jobRequests(world)
  const calls = firstCalls(Array.from({ length: world.projects.length }, () => request!), adminHeaders(world))
  await pool(calls.length, 10, async (i) => { await verify(url, calls[i]!) })
}

/** New jobs in the projects, in turn: submissions of a program that no process runs here (they stay queued). */
function jobRequests (world: World): autocannon.Request[] {
  let n = 0
  return [{
    method: 'POST',
    setupRequest: (request: autocannon.Request) => {
      n++
      const project = world.projects[(n * 7) % world.projects.length]!
      return { ...request, path: `/projects/${project.id}/jobs`, body: JSON.stringify({ name: `bench job ${n}`, service: world.runnableService, inputs: {} }) }
    }
  }]
}

/** The requests of the creates scenario: each a new service, as the administrator. */
function createsLoad (world: World): { requests: autocannon.Request[], headers: Record<string, string> } {
  return { requests: writeRequests(world, 'bench-new', ['create']), headers: adminHeaders(world) }
}

function adminHeaders (world: World): Record<string, string> {
  return { 'x-api-key': world.admin.apiKey, 'content-type': 'application/json' }
}
