/**
 * Real processes for the tests: the server as `npm start` runs it, and the admin
 * command line as its binary, each with its own environment.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export interface Running { child: ChildProcess, output: () => string, exited: Promise<number | null> }

/** The server as `npm start` runs it: compiled to dist/ by `npm run build`, which `npm test` runs first. */
export const serverEntry = 'dist/main.js'

/**
 * tap puts its process-tracking hook into every child's NODE_OPTIONS, whatever the
 * environment given: it costs each Node process 0.6 to 0.9 s to start on this
 * machine, and with coverage off it tracks nothing anyone reads. `env -u` takes it out.
 */
export function withoutTapHook (command: [string, ...string[]]): [string, ...string[]] {
  return ['env', '-u', 'NODE_OPTIONS', ...command]
}

/** Starts the Node program `args` with `env` over the test's own environment. */
function startNode (args: string[], env: Record<string, string>): Running {
  const [program, ...rest] = withoutTapHook([process.execPath, ...args])
  const child = spawn(program, rest, {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

/** The server as `npm start` runs it, on any free port (PORT=0) unless `env` names one. */
export function startServer (env: Record<string, string>): Running {
  return startNode([serverEntry], { PORT: '0', ...env })
}

/** The address a server's log says it listens at (Fastify's "Server listening at …" line), or null before it does. */
function listeningUrl (output: string): string | null {
  // eslint-disable-next-line no-control-regex -- in a pretty log, a colour's escape code ends the address
  return /Server listening at (http:\/\/[^\s"\u001b]+)/.exec(output)?.[1] ?? null
}

/** A worker (`npm run worker`), as built in dist/ like the server. */
export function startWorker (env: Record<string, string>): Running {
  return startNode(['dist/worker.js'], env)
}

/** Waits for the server's "Server listening" line; returns the address it names. */
export async function waitUntilListening (running: Pick<Running, 'output'> & { child: { exitCode: number | null } }): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const url = listeningUrl(running.output())
    if (url !== null) return url
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`server did not start: ${running.output()}`)
}

/** A started, listening server on the port it picked, killed when the test ends if it still runs. */
export async function listeningServer (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): Promise<Running & { url: string }> {
  const running = startServer(env)
  t.teardown(() => running.child.kill('SIGKILL'))
  const url = await waitUntilListening(running)
  return { ...running, url }
}

/** The administrator a test server creates at its first start (MOBYLE_ADMIN_USERNAME, MOBYLE_ADMIN_PASSWORD). */
export const adminEnv = { MOBYLE_ADMIN_USERNAME: 'admin', MOBYLE_ADMIN_PASSWORD: 'admin-secret' }

/** A request to a server process as its administrator, a JSON body if any; a refusal (300 and above) throws, naming it. */
export async function asAdmin (url: string, method = 'GET', body?: unknown): Promise<Response> {
  const authorization = `Basic ${Buffer.from(`${adminEnv.MOBYLE_ADMIN_USERNAME}:${adminEnv.MOBYLE_ADMIN_PASSWORD}`).toString('base64')}`
  const answer = await fetch(url, {
    method,
    headers: body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (answer.status >= 300) throw new Error(`${method} ${url}: ${answer.status} ${await answer.text()}`)
  return answer
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs the installed admin binary (the build in dist/, as for the server) with `env`, feeding it `input` on stdin. */
export async function cli (env: Record<string, string>, args: string[], input?: string): Promise<CliResult> {
  const [program, ...rest] = withoutTapHook([process.execPath, 'bin/mobyle2-admin.mjs', ...args])
  const child = spawn(program, rest, {
    env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  child.stdin.end(input ?? '')
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}

export { basic } from './fixtures.ts'
