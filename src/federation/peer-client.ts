/**
 * The outgoing side of federation: fetching another mobyle2 server's service
 * catalogue (`GET <url>/services/`).
 *
 * The request is made on an administrator's behalf to a server that may be broken
 * or hostile, so everything about it is bounded: which hosts may be contacted (an
 * allow-list, checked again for every redirect target before it is contacted) and
 * which addresses (checked for every connection, once its host name is resolved),
 * how long connecting and the whole exchange may take, how many redirects are
 * followed and how large the answer may be. It is written on undici's Agent rather
 * than fetch because fetch has no connect timeout of its own, does not let a
 * redirect target be vetted before it is contacted, and has no hook between
 * resolving a name and connecting to its address.
 *
 * Failure messages are stored as a server's last sync error and shown to
 * administrators: they name the URL without its user name or query, and quote at
 * most a short, sanitized snippet of anything the peer sent.
 */
import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { Agent, Client, request, type Dispatcher } from 'undici'
import { PeerAllowlist, portOf } from '../peer-allowlist.ts'

export interface PeerLimits {
  /** From the start of a connection (DNS, TCP and for https TLS) until it is connected. */
  connectTimeoutMs: number
  /** The whole exchange: every redirect hop, headers and the full body. */
  totalTimeoutMs: number
  /** Redirects followed (0 = none); one more is an error. */
  maxRedirects: number
  /** Largest response body accepted, in bytes. */
  maxBytes: number
  /**
   * Hosts that may be contacted, checked for the first URL and every redirect
   * target; and the addresses their names may resolve to, checked for every connection.
   */
  allowlist: PeerAllowlist
  /** Resolves host names: dns.lookup unless given (tests answer addresses of their choosing). */
  lookup?: LookupFunction
}

/**
 * The URL may not be contacted: not http or https, carries a user name or password
 * (refused rather than leaked to the peer), its host is outside the allow-list, or
 * its host resolves only to addresses the allow-list keeps out.
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
  const exchange = new Exchange(limits)
  try {
    let page = await exchange.page(first)
    if (page.next === undefined) return page.value
    // Without a prototype, a "__proto__" key is a service name like any other.
    const merged = Object.create(null) as Record<string, unknown>
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
      page = await exchange.page(url)
    }
  } finally {
    await exchange.close()
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

interface Page { value: unknown, next?: string }

type Body = Dispatcher.ResponseData['body']

/**
 * The connections of one fetch (a client per origin, each vetting the addresses it
 * connects to), its deadline, and the bytes its pages may still take. Closing it
 * leaves nothing running.
 */
class Exchange {
  private readonly agent: Agent
  private readonly deadline = new AbortController()
  private readonly timer: NodeJS.Timeout
  /** Failures to connect, as undici reports them apart from failures of a connection made. */
  private readonly connectErrors = new WeakSet<Error>()
  private bytesLeft: number

  constructor (private readonly limits: PeerLimits) {
    const resolve = limits.lookup ?? dns.lookup
    this.agent = new Agent({
      // A client of our own per origin, so that its lookup knows the port: an address may be listed for one port only.
      factory: (origin) => new Client(origin, {
        // The total timeout bounds the exchange; undici's own (5 minutes) would cut short a sync allowed to take longer.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: { timeout: limits.connectTimeoutMs, lookup: vettedLookup(new URL(origin), limits.allowlist, resolve) }
      })
    }).on('connectionError', (_origin, _targets, error) => { this.connectErrors.add(error) })
    this.timer = setTimeout(() => this.deadline.abort(), limits.totalTimeoutMs)
    this.bytesLeft = limits.maxBytes
  }

  /** One page, following redirects. */
  async page (first: URL): Promise<Page> {
    let url = first
    for (let redirects = 0; ; redirects++) {
      const { statusCode: status, headers, body } = await this.send(url, redirects > 0)
      if (redirectStatuses.has(status)) {
        discard(body)
        url = this.redirectTarget(first, url, one(headers.location), status, redirects)
        continue
      }
      if (status !== 200) {
        discard(body)
        throw new PeerFailure(`${shown(url)} answered HTTP ${status}`)
      }
      const declared = Number(one(headers['content-length']))
      if (declared > this.bytesLeft) {
        discard(body)
        throw new PeerFailure(`${shown(url)} answered ${declared} bytes, more than the ${this.limits.maxBytes} accepted`)
      }
      const value = decodeJson(url, await this.read(url, body), one(headers['content-type']))
      return { value, next: nextLink([headers.link ?? []].flat().join(', ')) }
    }
  }

  async close (): Promise<void> {
    clearTimeout(this.timer)
    await this.agent.destroy()
  }

  private async send (url: URL, redirected: boolean): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { dispatcher: this.agent, headers: requestHeaders, signal: this.deadline.signal })
    } catch (error) {
      if (error instanceof AddressRefused) throw new PeerRefused(`${subject(url, redirected)}: ${error.message}`)
      throw this.failure(url, error as NodeJS.ErrnoException, false)
    }
  }

  private async read (url: URL, body: Body): Promise<Buffer> {
    const chunks: Buffer[] = []
    let received = 0
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.length
        // Leaving the loop destroys the body and its connection: the peer cannot keep writing.
        if (received > this.bytesLeft) throw new PeerFailure(`${shown(url)} answered more than the ${this.limits.maxBytes} bytes accepted`)
        chunks.push(chunk)
      }
    } catch (error) {
      throw this.failure(url, error as NodeJS.ErrnoException, true)
    }
    this.bytesLeft -= received
    return Buffer.concat(chunks)
  }

  private redirectTarget (first: URL, url: URL, location: string | undefined, status: number, redirects: number): URL {
    if (location === undefined) throw new PeerFailure(`${shown(url)} answered HTTP ${status} without a Location`)
    if (redirects >= this.limits.maxRedirects) {
      throw new PeerFailure(this.limits.maxRedirects === 0
        ? `${shown(url)} redirected (HTTP ${status}), and redirects are not followed`
        : `${shown(first)} redirected more than ${this.limits.maxRedirects} times`)
    }
    let target: URL
    try {
      target = new URL(location, url)
    } catch {
      throw new PeerFailure(`${shown(url)} redirected to an invalid URL`)
    }
    const refused = refusal(target, this.limits.allowlist, true)
    if (refused !== null) throw refused
    return target
  }

  /** What to report of `error`, which ended the exchange with `url` before its answer (or, `answering`, during it). */
  private failure (url: URL, error: NodeJS.ErrnoException, answering: boolean): Error {
    if (this.deadline.signal.aborted) return new PeerFailure(`${shown(url)} did not answer within ${seconds(this.limits.totalTimeoutMs)}`)
    if (error instanceof PeerFailure) return error
    if (this.connectErrors.has(error)) return new PeerFailure(connectFailure(url, error, this.limits.connectTimeoutMs))
    return new PeerFailure(exchangeFailure(url, error, answering))
  }
}

/** Raised by a vetted lookup: every address of the name is one the allow-list keeps out. */
class AddressRefused extends Error {}

/**
 * `resolve`, leaving out the addresses `allowlist` refuses for `origin`. Node calls
 * it for every connection, between resolving the name and connecting, so a name
 * that resolves to another address later (DNS rebinding) is vetted again. A name
 * with some addresses refused is connected to at the others; with all refused, the
 * connection fails. IP literals are not looked up, and need not be: the allow-list
 * allows one only when it lists that address itself.
 */
function vettedLookup (origin: URL, allowlist: PeerAllowlist, resolve: LookupFunction): LookupFunction {
  const port = portOf(origin) ?? 0
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, found, family) => {
      if (error !== null) {
        callback(error, '')
        return
      }
      const addresses = typeof found === 'string' ? [{ address: found, family: family ?? 0 }] : found
      const allowed = addresses.filter(({ address }) => allowlist.refusedAddress(address, port) === null)
      if (allowed.length === 0 && addresses.length > 0) {
        const refused = addresses.map(({ address }) => `${address} (${allowlist.refusedAddress(address, port)})`).join(', ')
        callback(new AddressRefused(`host ${hostname}:${port} resolves to ${refused}, not in PEER_ALLOWLIST`), '')
      } else if (options.all === true) {
        callback(null, allowed)
      } else {
        callback(null, allowed[0]?.address ?? '', allowed[0]?.family)
      }
    })
  }
}

/** Drops an answer that is not read, and its connection with it; the abort undici then reports on the body is this one. */
function discard (body: Body): void {
  body.on('error', () => {}).destroy()
}

/** A header's value; of a header sent more than once, the first. */
function one (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function subject (url: URL, redirected: boolean): string {
  return redirected ? `redirect target ${shown(url)}` : shown(url)
}

function refusal (url: URL, allowlist: PeerAllowlist, redirected: boolean): PeerRefused | null {
  const what = subject(url, redirected)
  if (!isHttp(url)) return new PeerRefused(`${what} is not an http or https URL`)
  if (url.username !== '' || url.password !== '') return new PeerRefused(`${what} has a user name or password, which are never sent to a peer`)
  if (!allowlist.allows(url)) return new PeerRefused(`${what}: host ${endpoint(url)} is not in PEER_ALLOWLIST`)
  return null
}

/** A connection to the URL's host could not be made: its name not resolved, TCP not connected, or for https, TLS not established. */
function connectFailure (url: URL, error: NodeJS.ErrnoException, connectTimeoutMs: number): string {
  const at = endpoint(url)
  if (error.code === 'UND_ERR_CONNECT_TIMEOUT') return `connecting to ${at} timed out after ${seconds(connectTimeoutMs)}`
  if (url.protocol === 'https:' && !beforeTls(error)) return `TLS with ${at} failed: ${brief(error.message)}`
  if (error.code === 'ENOTFOUND') return `${url.hostname} was not found in DNS`
  if (error.code === 'ECONNREFUSED') return `connecting to ${at} was refused`
  return `connecting to ${at} failed: ${brief(error.code ?? error.message)}`
}

/**
 * Whether a failure to connect came before TLS: resolving a name and connecting
 * over TCP fail in those system calls, or in trying each address of a name in turn
 * (an AggregateError); whatever else fails is the TLS handshake.
 */
function beforeTls (error: NodeJS.ErrnoException): boolean {
  return error instanceof AggregateError || error.syscall === 'getaddrinfo' || error.syscall === 'connect'
}

/** The connection was made, and the exchange on it failed. */
function exchangeFailure (url: URL, error: NodeJS.ErrnoException, answering: boolean): string {
  if (error.code?.startsWith('HPE_') === true) return `${shown(url)} did not answer HTTP (${error.code})`
  if (answering) return `${shown(url)} closed the connection before the end of its answer`
  if (error.code === 'UND_ERR_SOCKET' || error.code === 'ECONNRESET') return `${shown(url)} closed the connection without answering`
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
  // eslint-disable-next-line no-control-regex -- a peer's control characters are what this takes out
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}
