/**
 * Load generation and its checks: autocannon in this process against the server
 * child. Every answer's status and latency is recorded here (autocannon's own
 * histogram keeps whole milliseconds, too coarse for the fast routes), and only
 * the answers inside a measuring window count: it opens once the load is warm —
 * after the warm-up time, and once every connection has had an answer, since a
 * slow route on the single-threaded embedded database answers 100 connections
 * only after 100 times its own duration.
 */
import autocannon from 'autocannon'
import { sleep } from './server.ts'

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH'
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadOptions {
  connections: number
  /** One request repeated… */
  call?: Call
  /** …or these in turn, each connection cycling through them (setupRequest may vary each one). */
  requests?: autocannon.Request[]
  headers?: Record<string, string>
  /** Requests per second over all connections; unset means as fast as the server answers. */
  overallRate?: number
}

export interface LoadStats {
  answers: number
  seconds: number
  /** Per answer, in milliseconds, sorted. */
  latencies: number[]
}

/** No load runs longer, whatever happens; a warm-up that needs more has failed. */
const longestLoadSeconds = 600
const longestWarmUpMs = 240_000

/** A load running from construction until stop(), measured inside one window. */
export class Load {
  private readonly statuses = new Map<number, number>()
  private readonly started = Date.now()
  private answered = 0
  private window: { from: number, to?: number, latencies: number[] } | undefined
  private readonly finished: Promise<autocannon.Result>
  private readonly instance: autocannon.Instance

  constructor (url: string, private readonly options: LoadOptions) {
    let instance: autocannon.Instance | undefined
    this.finished = new Promise((resolve, reject) => {
      instance = autocannon({
        // autocannon takes the path of a single request from the URL only.
        url: url + (options.call?.path ?? ''),
        connections: options.connections,
        duration: longestLoadSeconds,
        // 100 connections on a slow route of the embedded database wait 100 times its duration.
        timeout: 180,
        headers: { ...options.call?.headers, ...options.headers },
        ...(options.call === undefined ? {} : { method: options.call.method, body: options.call.body }),
        ...(options.requests === undefined ? {} : { requests: options.requests }),
        ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate })
      }, (error: Error | null, result: autocannon.Result) => {
        if (error == null) resolve(result)
        else reject(error)
      })
    })
    this.instance = instance!
    // A failure is reported by stop(); a load abandoned after another failed must not crash the process.
    this.finished.catch(() => {})
    this.instance.on('response', (_client, status, _bytes, milliseconds) => {
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
      this.answered++
      if (this.window !== undefined && this.window.to === undefined) this.window.latencies.push(milliseconds)
    })
  }

  /** Resolves once `seconds` have passed since the start and every connection has had an answer. */
  async warm (seconds: number): Promise<void> {
    await sleep(seconds * 1000 - (Date.now() - this.started))
    while (this.answered < this.options.connections) {
      this.assertAll2xx()
      if (Date.now() - this.started > longestWarmUpMs) {
        throw new Error(`only ${this.answered} answers to ${this.options.connections} connections in ${longestWarmUpMs / 1000} s`)
      }
      await sleep(50)
    }
    this.assertAll2xx()
  }

  openWindow (): void {
    this.window = { from: performance.now(), latencies: [] }
  }

  closeWindow (): LoadStats {
    if (this.window === undefined) throw new Error('no window open')
    this.window.to = performance.now()
    const latencies = this.window.latencies.sort((a, b) => a - b)
    if (latencies.length === 0) throw new Error('no answer within the measuring window')
    return { answers: latencies.length, seconds: (this.window.to - this.window.from) / 1000, latencies }
  }

  /** Ends the load without looking at its answers (another part of the measure failed). */
  abort (): void {
    this.instance.stop()
  }

  /** Ends the load; throws, with the statuses seen, unless every answer was a 2xx. */
  async stop (): Promise<void> {
    this.instance.stop()
    const result = await this.finished
    this.assertAll2xx()
    if (result.errors > 0 || result.timeouts > 0) throw new Error(`${result.errors} connection errors, ${result.timeouts} timeouts`)
  }

  private assertAll2xx (): void {
    if ([...this.statuses.keys()].every((status) => status >= 200 && status <= 299)) return
    const seen = [...this.statuses].map(([status, count]) => `${count} × HTTP ${status}`).join(', ')
    this.instance.stop()
    throw new Error(`answers were not all 2xx: ${seen}`)
  }
}

export function percentile (sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!
}

/**
 * Sends one call and returns its body; throws unless the status is 2xx and
 * `refuse` finds nothing wrong in the body (the RPC faces report errors with 200).
 */
export async function verify (url: string, call: Call, refuse?: (body: string) => string | null): Promise<string> {
  const response = await fetch(url + call.path, { method: call.method, headers: call.headers, body: call.body })
  const body = await response.text()
  if (!response.ok) throw new Error(`${call.method} ${call.path} answered HTTP ${response.status}: ${body.slice(0, 500)}`)
  const problem = refuse?.(body) ?? null
  if (problem !== null) throw new Error(`${call.method} ${call.path} answered HTTP ${response.status} with ${problem}: ${body.slice(0, 500)}`)
  return body
}

/** Runs `task(0…count-1)`, at most `width` at once; answers their results in order. */
export async function pool<T> (count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, count) }, async () => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }))
  return results
}
