/**
 * Real processes for the tests: the server as `npm start` runs it, and the admin
 * command line as its binary, each with its own environment.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

export interface Running { child: ChildProcess, output: () => string, exited: Promise<number | null> }

/** Starts `node --import tsx <script>` with `env` over the test's own environment. */
export function startProcess (args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

export function startServer (env: Record<string, string>): Running {
  return startProcess(['src/main.ts'], env)
}

export async function waitUntilListening (running: Running): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (running.output().includes('Server listening')) return
    if (running.child.exitCode !== null) throw new Error(`server exited: ${running.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`server did not start: ${running.output()}`)
}

/** A started, listening server on a free port, killed when the test ends if it still runs. */
export async function listeningServer (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>): Promise<Running & { url: string }> {
  const port = String(await freePort())
  const running = startServer({ PORT: port, ...env })
  t.teardown(() => running.child.kill('SIGKILL'))
  await waitUntilListening(running)
  return { ...running, url: `http://127.0.0.1:${port}` }
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs the installed admin binary with `env`, feeding it `input` on stdin. */
export async function cli (env: Record<string, string>, args: string[], input?: string): Promise<CliResult> {
  const child = spawn(process.execPath, ['bin/mobyle2-admin.mjs', ...args], {
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

export function basic (username: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }
}
