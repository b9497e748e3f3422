/**
 * The outgoing side of federation: fetching another mobyle2 server's service
 * catalogue (`GET <url>/services/`).
 *
 * The request is made on an administrator's behalf to a server that may be broken
 * or hostile, so everything about it is bounded: which hosts may be contacted (an
 * allow-list, checked again for every redirect target before it is contacted), how
 * long connecting and the whole exchange may take, how many redirects are followed
 * and how large the answer may be. It is written on node:http rather than fetch
 * because fetch has no connect timeout of its own and does not let a redirect
 * target be vetted before it is contacted.
 *
 * Failure messages are stored as a server's last sync error and shown to
 * administrators: they name the URL without its user name or query, and quote at
 * most a short, sanitized snippet of anything the peer sent.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http'
import https from 'node:https'
import { PeerAllowlist, portOf } from '../peer-allowlist.ts'

export interface PeerLimits {
  /** From the start of a hop (DNS, TCP and for https TLS) until it is connected. */
  connectTimeoutMs: number
  /** The whole exchange: every redirect hop, headers and the full body. */
  totalTimeoutMs: number
  /** Redirects followed (0 = none); one more is an error. */
  maxRedirects: number
  /** Largest response body accepted, in bytes. */
  maxBytes: number
  /** Hosts that may be contacted, checked for the first URL and every redirect target. */
  allowlist: PeerAllowlist
}

/**
 * The URL may not be contacted: not http or https, carries a user name or password
 * (refused rather than leaked to the peer), or its host is outside the allow-list.
 */
export class PeerRefused extends Error {
  override name = 'PeerRefused'
}

/** The peer could not be reached, or answered something unusable. */
export class PeerFailure extends Error {
  override name = 'PeerFailure'
}

/**
 * `<base>/services/`. The base's path gets a trailing slash first, so that a server
 * mounted under a path keeps it (http://h/mobyle → http://h/mobyle/services/).
 * Query and fragment of the base are dropped.
 */
export function catalogueUrl (base: string): URL {
  let url: URL
  try {
    url = new URL(base)
  } catch {
    // Not echoed: an unparsable URL cannot be stripped of a password it may hold.
    throw new PeerRefused('the server URL is not a valid URL')
  }
  if (!isHttp(url)) throw new PeerRefused(`${shown(url)} is not an http or https URL`)
  url.search = ''
  url.hash = ''
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return new URL('services/', url)
}

/** What a mobyle2 server is asked for: only exported services, in its largest pages. */
const catalogueQuery = '?exported=true&limit=1000'

/**
 * Fetches `catalogueUrl(base)` within `limits` and returns the parsed JSON value,
 * whatever its shape. A paged answer (a `Link: <…>; rel="next"` header, as this
 * server sends) is followed on the same origin and its pages merged into one
 * object; the limits hold for all pages together.
 */
export async function fetchCatalogue (base: string, limits: PeerLimits): Promise<unknown> {
  const first = catalogueUrl(base)
  first.search = catalogueQuery
  const refused = refusal(first, limits.allowlist, false)
  if (refused !== null) throw refused
  const budget = { deadline: Date.now() + limits.totalTimeoutMs, bytes: limits.maxBytes }
  let page = await exchange(first, limits, budget)
  if (page.next === undefined) return page.value
  // Without a prototype, a "__proto__" key is a service name like any other.
  const merged: Record<string, unknown> = Object.create(null)
  const seen = new Set<string>()
  for (let url = first; ;) {
    if (!isCatalogueObject(page.value)) throw new PeerFailure(`${shown(url)} answered a page that is not a JSON object`)
    Object.assign(merged, page.value)
    if (page.next === undefined) return merged
    seen.add(url.href)
    const next = new URL(page.next, url)
    if (next.origin !== first.origin) throw new PeerRefused(`${shown(url)} links its next page on another server, ${next.origin}`)
    if (seen.has(next.href)) throw new PeerFailure(`${shown(url)} links back to a page already read`)
    url = next
    page = await exchange(url, limits, budget)
  }
}

function isCatalogueObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The target of a `rel="next"` link in a Link header. */
function nextLink (header: string | undefined): string | undefined {
  return header === undefined ? undefined : /<([^>]*)>\s*;\s*rel="?next"?/i.exec(header)?.[1]
}

const requestHeaders = {
  accept: 'application/json',
  // A compressed answer would defeat the byte limit (a small body inflating to gigabytes).
  'accept-encoding': 'identity',
  'user-agent': 'mobyle2-server federation'
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])



/** How far a hop got, to say what failed: a TLS error only happens between TCP and TLS being connected. */
type Stage = 'connecting' | 'handshaking' | 'connected'

interface Page { value: unknown, next?: string }

/**
 * One page, following redirects. `budget` is shared by every page of one fetch:
 * the time limit ends at its deadline and the bytes each page reads are taken off it.
 */
function exchange (first: URL, limits: PeerLimits, budget: { deadline: number, bytes: number }): Promise<Page> {
  return new Promise((resolve, reject) => {
    let current = first
    let request: ClientRequest | undefined
    let response: IncomingMessage | undefined
    let connectTimer: NodeJS.Timeout | undefined
    let settled = false

    // The single exit: whichever of answer, failure or timer comes first, nothing is left running.
    const settle = (outcome: Page | { error: Error }): void => {
      if (settled) return
      settled = true
      clearTimeout(totalTimer)
      clearTimeout(connectTimer)
      response?.destroy()
      request?.destroy()
      if ('error' in outcome) reject(outcome.error)
      else resolve(outcome)
    }
    const fail = (message: string): void => settle({ error: new PeerFailure(message) })

    const totalTimer = setTimeout(() => fail(`${shown(current)} did not answer within ${seconds(limits.totalTimeoutMs)}`),
      Math.max(0, budget.deadline - Date.now()))

    const hop = (url: URL, redirects: number): void => {
      const secure = url.protocol === 'https:'
      const req = (secure ? https : http).request(url, { agent: false, headers: requestHeaders })
      current = url
      request = req
      response = undefined
      // Events of a request left behind by a redirect, or of one torn down by settle, are noise.
      const live = (): boolean => !settled && request === req
      let stage: Stage = 'connecting'

      connectTimer = setTimeout(() => fail(`connecting to ${endpoint(url)} timed out after ${seconds(limits.connectTimeoutMs)}`), limits.connectTimeoutMs)
      req.on('socket', (socket) => {
        socket.once('connect', () => {
          stage = secure ? 'handshaking' : 'connected'
          if (!secure && live()) clearTimeout(connectTimer)
        })
        if (secure) {
          socket.once('secureConnect', () => {
            stage = 'connected'
            if (live()) clearTimeout(connectTimer)
          })
        }
      })
      // Listened for even after the hop is over: an unlistened 'error' would be thrown.
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (live()) fail(requestFailure(url, error, stage, response !== undefined))
      })
      req.on('response', (res) => {
        if (!live()) {
          res.destroy()
          return
        }
        response = res
        answer(url, req, res, redirects)
      })
      req.end()
    }

    const answer = (url: URL, req: ClientRequest, res: IncomingMessage, redirects: number): void => {
      const status = res.statusCode ?? 0
      if (redirectStatuses.has(status)) {
        res.destroy()
        req.destroy()
        follow(url, res.headers.location, status, redirects)
        return
      }
      if (status !== 200) {
        fail(`${shown(url)} answered HTTP ${status}`)
        return
      }
      const declared = Number(res.headers['content-length'])
      if (declared > budget.bytes) {
        fail(`${shown(url)} answered ${declared} bytes, more than the ${limits.maxBytes} accepted`)
        return
      }
      const live = (): boolean => !settled && response === res
      const chunks: Buffer[] = []
      let received = 0
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > budget.bytes) fail(`${shown(url)} answered more than the ${limits.maxBytes} bytes accepted`)
        else chunks.push(chunk)
      })
      res.on('end', () => {
        if (!live()) return
        try {
          budget.bytes -= received
          settle({ value: decodeJson(url, Buffer.concat(chunks), res.headers['content-type']), next: nextLink([res.headers.link ?? []].flat().join(', ')) })
        } catch (error) {
          settle({ error: error as Error })
        }
      })
      // 'close' without 'end' is a connection cut mid-body; 'error' must be listened for or it would be thrown.
      const cutShort = (): void => {
        if (live()) fail(`${shown(url)} closed the connection before the end of its answer`)
      }
      res.on('error', cutShort)
      res.on('close', cutShort)
    }

    const follow = (url: URL, location: string | undefined, status: number, redirects: number): void => {
      if (location === undefined) {
        fail(`${shown(url)} answered HTTP ${status} without a Location`)
        return
      }
      if (redirects >= limits.maxRedirects) {
        fail(limits.maxRedirects === 0
          ? `${shown(url)} redirected (HTTP ${status}), and redirects are not followed`
          : `${shown(first)} redirected more than ${limits.maxRedirects} times`)
        return
      }
      let target: URL
      try {
        target = new URL(location, url)
      } catch {
        fail(`${shown(url)} redirected to an invalid URL`)
        return
      }
      const refused = refusal(target, limits.allowlist, true)
      if (refused !== null) {
        settle({ error: refused })
        return
      }
      hop(target, redirects + 1)
    }

    hop(first, 0)
  })
}

function refusal (url: URL, allowlist: PeerAllowlist, redirected: boolean): PeerRefused | null {
  const what = redirected ? `redirect target ${shown(url)}` : shown(url)
  if (!isHttp(url)) return new PeerRefused(`${what} is not an http or https URL`)
  if (url.username !== '' || url.password !== '') return new PeerRefused(`${what} has a user name or password, which are never sent to a peer`)
  if (!allowlist.allows(url)) return new PeerRefused(`${what}: host ${endpoint(url)} is not in PEER_ALLOWLIST`)
  return null
}

function requestFailure (url: URL, error: NodeJS.ErrnoException, stage: Stage, answering: boolean): string {
  const at = endpoint(url)
  if (stage === 'connecting') {
    if (error.code === 'ENOTFOUND') return `${url.hostname} was not found in DNS`
    if (error.code === 'ECONNREFUSED') return `connecting to ${at} was refused`
    return `connecting to ${at} failed: ${brief(error.code ?? error.message)}`
  }
  if (stage === 'handshaking') return `TLS with ${at} failed: ${brief(error.message)}`
  if (error.code?.startsWith('HPE_') === true) return `${shown(url)} did not answer HTTP (${error.code})`
  if (answering) return `${shown(url)} closed the connection before the end of its answer`
  if (error.code === 'ECONNRESET') return `${shown(url)} closed the connection without answering`
  return `${shown(url)} failed: ${brief(error.message)}`
}

function decodeJson (url: URL, body: Buffer, contentType: string | undefined): unknown {
  const mediaType = contentType?.split(';')[0]?.trim() ?? ''
  // Spec servers vary in the content-type they send, so it is not required; but it explains a non-JSON answer.
  const declared = contentType !== undefined && !/json/i.test(mediaType) ? ` (content-type ${brief(mediaType)})` : ''
  const notJson = (reason: string): PeerFailure => new PeerFailure(`${shown(url)} did not answer JSON${declared}: ${reason}`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw notJson('not valid UTF-8')
  }
  if (text.trim() === '') throw notJson('empty body')
  try {
    return JSON.parse(text)
  } catch (error) {
    // V8's message quotes the body around the error: kept, but short and on one line.
    throw notJson(brief((error as Error).message))
  }
}

function isHttp (url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:'
}

/** host:port, the port always spelled out, as a connection is described. */
function endpoint (url: URL): string {
  return `${url.hostname}:${portOf(url) ?? ''}`
}

/** The URL as a message may show it: no user name, password, query or fragment, and not at length (a redirect target is the peer's choice). */
function shown (url: URL): string {
  const bare = new URL(url.href)
  bare.username = ''
  bare.password = ''
  bare.search = ''
  bare.hash = ''
  return brief(bare.href, 200)
}

function seconds (ms: number): string {
  return `${ms / 1000} s`
}

/** Text that came from the peer, made fit for a one-line message. */
function brief (text: string, max = 100): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}
