/**
 * Data transfer: one item's content uploaded (a multipart form, streamed) and
 * downloaded by the server under test, against the same bytes moved by a plain
 * `node:http` server (bench/floor.ts) in a child process of its own, by the same
 * client code in this process, in the same run. Reports MiB/s (the median of the
 * runs), the ratio to the floor, and how far each transfer raised the resident
 * memory of the process that served it. See bench/README.md, "Transfers".
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, rm, unlink } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { World } from './seed.ts'
import { cpuMilliseconds, PeakMemory, quiet, repoRoot, type DatabaseKind, type RunningServer } from './server.ts'
import { median, round } from './stats.ts'

export interface TransferPlan {
  /** The content's size. */
  bytes: number
  /** Times each transfer is measured; the rate reported is the median. */
  runs: number
}

export interface TransferResult {
  name: string
  face: 'rest' | 'floor'
  database: DatabaseKind
  direction: 'upload' | 'download'
  /** The content's size (an upload sends the multipart form around it: a few hundred bytes more). */
  bytes: number
  /** The median of the runs, in MiB (2^20 bytes) per second, timed from the request's first byte to the answer's last. */
  mb_per_s: number
  mb_per_s_runs: number[]
  /** mb_per_s over the plain floor's in the same direction (for uploads: write and fsync, no hashing). */
  ratio_to_floor: number
  /** Resident memory of the serving process before the first run, and its peak over all runs, in MiB. */
  rss_before_mb: number
  rss_peak_mb: number
  /** The most one run raised it: peak during the run minus the resident memory just before it, in MiB. */
  rss_growth_mb: number
  rss_growth_mb_runs: number[]
  /**
   * The serving process's CPU time (every thread, user and kernel) per MiB moved, in milliseconds, median of
   * the runs: what the transfer costs it, whoever set the pace and however busy the machine was.
   */
  server_cpu_ms_per_mb: number
  /** CPU time over the transfer's duration, median of the runs: the serving process, then this one (the client). */
  server_busy: number
  client_busy: number
}

interface Measured { seconds: number, rssBefore: number, rssPeak: number, serverCpuMs: number, clientCpuMs: number }

/** One transfer, served by process `pid`: `run` performs it and checks its answer; `after` tidies up, untimed (`last`: after the last run). */
interface Transfer {
  name: string
  face: 'rest' | 'floor'
  direction: 'upload' | 'download'
  pid: number
  run: () => Promise<void>
  after?: (last: boolean) => Promise<void>
}

const mib = 2 ** 20

export async function runTransfers (server: RunningServer, world: World, database: DatabaseKind, plan: TransferPlan,
  progress: (line: string) => void): Promise<TransferResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mobyle2-transfer-'))
  const kills: Array<() => void> = []
  try {
    const source = join(dir, 'source.bin')
    const making = Date.now()
    const sha256 = await writeRandomFile(source, plan.bytes)
    progress(`transfers: ${plan.bytes / mib} MiB of random bytes written in ${((Date.now() - making) / 1000).toFixed(1)} s`)
    const floorDir = join(dir, 'floor')
    await mkdir(floorDir)
    const floor = await startFloor(source, floorDir)
    kills.push(floor.kill)

    const form = multipart(source, plan.bytes)
    const member = { 'x-api-key': world.member.apiKey }
    const dataPath = `/projects/${world.memberProject}/data`
    let item: string | undefined
    const floorUpload = (name: string, query: string): Transfer => {
      let stored: string | undefined
      return {
        name, face: 'floor', direction: 'upload', pid: floor.pid,
        run: async () => {
          const answer = JSON.parse(await upload(`${floor.url}/upload?${query}`, {}, form)) as { file: string, size: number }
          if (answer.size !== form.length) throw new Error(`the floor stored ${answer.size} bytes of ${form.length}`)
          stored = answer.file
        },
        after: async () => { if (stored !== undefined) await unlink(stored) }
      }
    }
    const uploads: Transfer[] = [
      floorUpload('floor upload: write, fsync', 'sync'),
      floorUpload('floor upload: sha256, write, fsync', 'hash&sync'),
      floorUpload('floor upload: write, no fsync', ''),
      {
        name: 'POST /projects/{id}/data multipart, API key', face: 'rest', direction: 'upload', pid: server.pid,
        run: async () => {
          const answer = JSON.parse(await upload(server.url + dataPath, member, form)) as { id: string, size: number, sha256: string }
          if (answer.size !== plan.bytes || answer.sha256 !== sha256) {
            throw new Error(`the server recorded ${answer.size} bytes, sha256 ${answer.sha256}, for ${plan.bytes} bytes, sha256 ${sha256}`)
          }
          item = answer.id
        },
        // Each run places the content anew (not over the previous run's file); the last item stays for the downloads.
        after: async (last) => { if (!last) await remove(`${server.url}${dataPath}/${item!}`, member) }
      }
    ]
    const downloads: Transfer[] = [
      { name: 'floor download: createReadStream', face: 'floor', direction: 'download', pid: floor.pid, run: async () => { await download(`${floor.url}/download`, {}, plan.bytes) } },
      {
        name: 'GET /projects/{id}/data/{dataId}/content API key', face: 'rest', direction: 'download', pid: server.pid,
        run: async () => { await download(`${server.url}${dataPath}/${item!}/content`, member, plan.bytes) }
      }
    ]

    const results: TransferResult[] = []
    for (const set of [uploads, downloads]) {
      const runs = new Map<Transfer, Measured[]>(set.map((transfer) => [transfer, []]))
      // Interleaved, so that a stretch of load from elsewhere on the machine falls on all of them alike.
      for (let run = 1; run <= plan.runs; run++) {
        for (const transfer of set) {
          runs.get(transfer)!.push(await measure(transfer))
          await transfer.after?.(run === plan.runs)
        }
      }
      const floorRate = median(runs.get(set[0]!)!.map((m) => plan.bytes / mib / m.seconds))
      for (const [transfer, measured] of runs) {
        const result = summarize(transfer, database, plan.bytes, measured, floorRate)
        results.push(result)
        progress(`${database} ${result.name}: ${result.mb_per_s} MiB/s (${result.mb_per_s_runs.join(', ')}), × floor ${result.ratio_to_floor}, ` +
          `RSS +${result.rss_growth_mb_runs.join('/')} MB from ${result.rss_before_mb} MB, ${result.server_cpu_ms_per_mb} ms CPU/MiB, busy ${result.server_busy} (client ${result.client_busy})`)
      }
    }

    // The bytes downloaded are the bytes uploaded: hashed here once, outside the timed runs, whose rate a hash in the client could bound.
    const hash = createHash('sha256')
    await download(`${server.url}${dataPath}/${item!}/content`, member, plan.bytes, hash)
    const downloaded = hash.digest('hex')
    if (downloaded !== sha256) throw new Error(`the content downloaded has sha256 ${downloaded}, not the upload's ${sha256}`)
    await remove(`${server.url}${dataPath}/${item!}`, member)
    return results
  } finally {
    for (const kill of kills) kill()
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  }
}

/** Times one transfer, once the process serving it is idle, with that process's memory and CPU, and this one's CPU. */
async function measure (transfer: Transfer): Promise<Measured> {
  await quiet(transfer.pid)
  const peak = new PeakMemory(transfer.pid)
  const rssBefore = peak.start()
  const serverFrom = cpuMilliseconds(transfer.pid)
  const clientFrom = process.cpuUsage()
  const from = performance.now()
  let rssPeak: number
  try {
    await transfer.run()
  } catch (error) {
    throw new Error(`${transfer.name} failed: ${(error as Error).message}`, { cause: error })
  } finally {
    rssPeak = peak.stop()
  }
  const ms = performance.now() - from
  const client = process.cpuUsage(clientFrom)
  return { seconds: ms / 1000, rssBefore, rssPeak, serverCpuMs: cpuMilliseconds(transfer.pid) - serverFrom, clientCpuMs: (client.user + client.system) / 1000 }
}

function summarize (transfer: Transfer, database: DatabaseKind, bytes: number, runs: Measured[], floorRate: number): TransferResult {
  const rates = runs.map((m) => bytes / mib / m.seconds)
  const rate = median(rates)
  return {
    name: transfer.name,
    face: transfer.face,
    database,
    direction: transfer.direction,
    bytes,
    mb_per_s: round(rate, 1),
    mb_per_s_runs: rates.map((r) => round(r, 1)),
    ratio_to_floor: Number((rate / floorRate).toPrecision(3)),
    rss_before_mb: round(runs[0]!.rssBefore, 1),
    rss_peak_mb: round(Math.max(...runs.map((m) => m.rssPeak)), 1),
    rss_growth_mb: round(Math.max(...runs.map((m) => m.rssPeak - m.rssBefore)), 1),
    rss_growth_mb_runs: runs.map((m) => round(m.rssPeak - m.rssBefore, 1)),
    server_cpu_ms_per_mb: round(median(runs.map((m) => m.serverCpuMs / (bytes / mib))), 2),
    server_busy: round(median(runs.map((m) => m.serverCpuMs / 1000 / m.seconds)), 2),
    client_busy: round(median(runs.map((m) => m.clientCpuMs / 1000 / m.seconds)), 2)
  }
}

/** `bytes` random bytes in `file`, flushed (so that writing them back does not overlap the runs); answers their sha256. */
export async function writeRandomFile (file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256')
  const handle = await open(file, 'wx')
  try {
    for (let written = 0; written < bytes;) {
      const chunk = randomBytes(Math.min(8 * mib, bytes - written))
      hash.update(chunk)
      await handle.write(chunk)
      written += chunk.length
    }
    await handle.sync()
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

interface Floor { url: string, pid: number, kill: () => void }

/** bench/floor.ts in a child process of its own, as the server runs in one. */
async function startFloor (file: string, dir: string): Promise<Floor> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/floor.ts'], {
    cwd: repoRoot,
    env: { ...process.env, FLOOR_FILE: file, FLOOR_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const kill = (): void => { child.kill('SIGKILL') }
  process.once('exit', kill)
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`the transfer floor exited with code ${code}`)) })
    child.stdout.setEncoding('utf8').once('data', (line: string) => { resolve(Number(line.trim())) })
  })
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, kill: () => { process.off('exit', kill); kill() } }
}

export interface Form { contentType: string, length: number, body: () => Readable }

/** A multipart form with the one part `file`, made as it is sent: the file is read as the request goes, never held whole. */
export function multipart (file: string, bytes: number): Form {
  const boundary = `bench-${randomBytes(12).toString('hex')}`
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n')
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + bytes + tail.length,
    body: () => Readable.from((async function * () {
      yield head
      // 1 MiB reads: fewer, larger writes from the client, which must not be what sets the pace.
      for await (const chunk of createReadStream(file, { highWaterMark: mib })) yield chunk as Buffer
      yield tail
    })(), { objectMode: false })
  }
}

/** POSTs the form (with its length: no chunked encoding) on a connection of its own; answers the 2xx answer's body. */
export async function upload (url: string, headers: Record<string, string>, form: Form): Promise<string> {
  const request = httpRequest(url, {
    method: 'POST', agent: false,
    headers: { ...headers, 'content-type': form.contentType, 'content-length': String(form.length) }
  })
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  const [, response] = await Promise.all([pipeline(form.body(), request), answered])
  return await okBody(url, response)
}

/** GETs `url` on a connection of its own, counting the bytes (and hashing them, when given a hash); throws unless all `bytes` arrived with a 200. */
export async function download (url: string, headers: Record<string, string>, bytes: number, hash?: Hash): Promise<void> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest(url, { agent: false, headers }, resolve).once('error', reject).end()
  })
  if (response.statusCode !== 200) await okBody(url, response)
  let received = 0
  response.on('data', (chunk: Buffer) => {
    received += chunk.length
    hash?.update(chunk)
  })
  await new Promise<void>((resolve, reject) => {
    response.once('end', resolve).once('error', reject)
  })
  if (received !== bytes) throw new Error(`GET ${url}: ${received} bytes of ${bytes}`)
}

export async function remove (url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { method: 'DELETE', headers })
  if (!response.ok) throw new Error(`DELETE ${url} answered HTTP ${response.status}: ${await response.text()}`)
}

async function okBody (url: string, response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks).toString('utf8')
  const status = response.statusCode ?? 0
  if (status < 200 || status > 299) throw new Error(`${url} answered HTTP ${status}: ${body.slice(0, 500)}`)
  return body
}

export function transferTable (rows: TransferResult[]): string {
  const header = ['transfer', 'face', 'database', 'MiB', 'MiB/s', 'runs', '× floor', 'RSS MB', '+RSS MB', 'ms/MiB', 'busy', 'client']
  const cells = rows.map((r) => [r.name, r.face, r.database, String(r.bytes / mib), r.mb_per_s.toFixed(0),
    r.mb_per_s_runs.map((v) => v.toFixed(0)).join('/'), r.ratio_to_floor.toPrecision(3), r.rss_before_mb.toFixed(0),
    r.rss_growth_mb.toFixed(1), r.server_cpu_ms_per_mb.toFixed(2), r.server_busy.toFixed(2), r.client_busy.toFixed(2)])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]): string => c.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n'
}
