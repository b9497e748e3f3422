/**
 * PEER_ALLOWLIST, parsed once with the rest of the configuration (src/config.ts):
 * the hosts a sync may contact. A leaf: it imports nothing of the server's.
 */
import { isIP, isIPv6 } from 'node:net'

interface AllowEntry {
  /** As URL.hostname spells it (lower case, punycode, IPv6 in brackets), so entries compare with plain equality. */
  host: string
  /** `*.host`: any subdomain, not host itself. */
  subdomains: boolean
  /** null: any port. */
  port: number | null
}

/**
 * Hosts a sync may contact. Parsed from PEER_ALLOWLIST: comma-separated entries,
 * whitespace trimmed, empty entries ignored. Entry forms: `host` (any port),
 * `host:port`, `*.example.org` (any subdomain of example.org, not example.org
 * itself, optionally with a port), an IPv4 or bracketed IPv6 literal with optional
 * port. Hosts compare case-insensitively. An empty list allows every host.
 */
export class PeerAllowlist {
  private constructor (private readonly entries: readonly AllowEntry[]) {}

  /** Throws Error('PEER_ALLOWLIST entry "<entry>": <why>') for an entry of none of the forms. */
  static parse (text: string): PeerAllowlist {
    return new PeerAllowlist(text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map(parseEntry))
  }

  allows (url: URL): boolean {
    if (this.empty) return true
    const port = portOf(url)
    return this.entries.some((entry) =>
      (entry.port === null || entry.port === port) &&
      (entry.subdomains ? url.hostname.endsWith(`.${entry.host}`) : url.hostname === entry.host))
  }

  get empty (): boolean {
    return this.entries.length === 0
  }
}

function parseEntry (entry: string): AllowEntry {
  const invalid = (why: string): Error => new Error(`PEER_ALLOWLIST entry "${entry}": ${why}`)
  if (entry.includes('://')) throw invalid('give a host, not a URL (no scheme)')
  if (/\s/.test(entry)) throw invalid('contains spaces')
  if (/[/?#\\]/.test(entry)) throw invalid('give a host, not a URL (no path)')
  if (entry.includes('@')) throw invalid('give a host, without a user name')
  let host: string
  let port: string | undefined
  if (entry.startsWith('[')) {
    const literal = /^(\[([^\]]*)\])(?::(.*))?$/.exec(entry)
    if (literal === null || !isIPv6(literal[2]!)) throw invalid('not a bracketed IPv6 address')
    host = literal[1]!
    port = literal[3]
  } else {
    const parts = entry.split(':')
    if (parts.length > 2) throw invalid('an IPv6 address must be in brackets, as in [::1]:8080')
    host = parts[0]!
    port = parts[1]
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw invalid('the port must be a number from 1 to 65535')
  }
  const subdomains = host.startsWith('*.')
  const name = subdomains ? host.slice(2) : host
  if (name.includes('*')) throw invalid('* is only allowed as a whole first label, as in *.example.org')
  const normalized = normalizeHost(name)
  if (normalized === null) throw invalid('not a host name or IP address')
  if (subdomains && isIP(normalized) !== 0) throw invalid('*. must be followed by a domain name, not an address')
  return { host: normalized, subdomains, port: port === undefined ? null : Number(port) }
}

/** The host as URL.hostname spells it, or null when it is not a host name or IP address. */
function normalizeHost (name: string): string | null {
  if (name === '') return null
  let hostname: string
  try {
    // The URL parser is what spells the hostnames allows() compares with (case, punycode, IPv4 and IPv6 forms).
    hostname = new URL(`http://${name}/`).hostname
  } catch {
    return null
  }
  if (hostname.startsWith('[')) return hostname
  return hostname.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) ? hostname : null
}

const defaultPorts: Partial<Record<string, number>> = { 'http:': 80, 'https:': 443 }

/** The URL's port, or its scheme's default. */
export function portOf (url: URL): number | undefined {
  return url.port === '' ? defaultPorts[url.protocol] : Number(url.port)
}
