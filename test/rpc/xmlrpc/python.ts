/**
 * Runs the Python scripts beside this file (Python's own, unmodified
 * xmlrpc.client) against a listening app, and returns their JSON output.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { App } from '../../../src/app.ts'

const here = fileURLToPath(new URL('.', import.meta.url))

export type Outcome = { result: any } | { fault: [number, string] } | { http: [number, string] }

export async function runPython (script: string, args: string[], stdin?: string): Promise<Record<string, Outcome>> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile('python3', ['-B', script, ...args], { cwd: here, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${script} failed: ${stderr}`))
      else resolve(stdout)
    })
    child.stdin?.end(stdin ?? '')
  })
  return JSON.parse(output)
}

/** Listens on a free port of 127.0.0.1 and returns the /xmlrpc URL. */
export async function listen (app: App): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}/xmlrpc`
}

export interface PythonCall {
  name: string
  method: string
  params?: unknown[]
  user?: string
  password?: string
  apiKey?: string
}

/** An answer of test/conformance_xmlrpc.py: the result, or the fault's code and text. */
export interface Answer { ok?: unknown, fault?: number, message?: string }

/**
 * Asks XML-RPC at `url` (credentials, if any, in the URL) a list of
 * [method, ...params] calls with Python's xmlrpc.client; one answer a call.
 */
export async function askXmlRpc (url: string, calls: unknown[][]): Promise<Answer[]> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile('python3', ['-B', '../../conformance_xmlrpc.py'], { cwd: here, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`conformance_xmlrpc.py failed: ${stderr}`))
      else resolve(stdout)
    })
    child.stdin?.end(JSON.stringify({ url, calls }))
  })
  return JSON.parse(output)
}

/** The /xmlrpc URL under `base` with `username`'s credentials in it (none for anonymous). */
export function xmlrpcUrl (base: string, username: string | null, password: string): string {
  const url = new URL('/xmlrpc', base)
  if (username !== null) {
    url.username = username
    url.password = encodeURIComponent(password)
  }
  return url.toString()
}

export async function runCalls (url: string, calls: PythonCall[]): Promise<Record<string, Outcome>> {
  return await runPython('calls.py', [], JSON.stringify({ url, calls }))
}
