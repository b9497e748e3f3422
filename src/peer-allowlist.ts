/**
 * PEER_ALLOWLIST, parsed once with the rest of the configuration (src/config.ts):
 * the hosts a sync may contact, and the addresses they may resolve to. A leaf: it
 * imports nothing of the server's.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net'

type AllowEntry = { port: number | null } & (
  | {
    kind: 'name'
    /** As URL.hostname spells it (lower case, punycode), so entries compare with plain equality. */
    host: string
    /** `*.host`: any subdomain, not host itself. */
    subdomains: boolean
  }
  | {
    /** An IP literal or a CIDR range: BlockList compares addresses however they are spelled, IPv4-mapped IPv6 included. */
    kind: 'addresses'
    addresses: BlockList
  })

/**
 * Hosts a sync may contact. Parsed from PEER_ALLOWLIST: comma-separated entries,
 * whitespace trimmed, empty entries ignored. Entry forms: `host` (any port),
 * `host:port`, `*.example.org` (any subdomain of example.org, not example.org
 * itself, optionally with a port), an IPv4 or bracketed IPv6 literal with optional
 * port, a CIDR range (`10.0.0.0/8`, `fd00::/8`; any port). Hosts compare
 * case-insensitively. An empty list allows every host.
 *
 * A non-empty list also vets the addresses a connection is made to: a loopback,
 * link-local, private or unspecified address is refused unless an IP literal or
 * range of the list holds it (see `refusedAddress`).
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
    const address = url.hostname.replace(/^\[(.*)\]$/, '$1')
    return this.entries.some((entry) => {
      if (entry.port !== null && entry.port !== port) return false
      if (entry.kind === 'addresses') return holds(entry.addresses, address)
      return entry.subdomains ? url.hostname.endsWith(`.${entry.host}`) : url.hostname === entry.host
    })
  }

  /**
   * Why a connection to `address` on `port` may not be made — what kind of address
   * it is, as in "a loopback address" — or null when it may. A listed name could
   * otherwise lead a sync to this server's own network, by its DNS record or by one
   * changed after the list was written; so such an address needs an entry of its
   * own. An empty list vets nothing.
   */
  refusedAddress (address: string, port: number): string | null {
    if (this.empty) return null
    const kind = reservedRanges.find(([, ranges]) => holds(ranges, address))?.[0]
    if (kind === undefined) return null
    const listed = this.entries.some((entry) =>
      entry.kind === 'addresses' && (entry.port === null || entry.port === port) && holds(entry.addresses, address))
    return listed ? null : kind
  }

  get empty (): boolean {
    return this.entries.length === 0
  }
}

function holds (addresses: BlockList, address: string): boolean {
  const family = isIP(address)
  return family !== 0 && addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

function ranges (...cidrs: string[]): BlockList {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/') as [string, string]
    list.addSubnet(network, Number(prefix), isIPv4(network) ? 'ipv4' : 'ipv6')
  }
  return list
}

/** Addresses that reach this host or its own networks rather than a peer on the Internet. */
const reservedRanges: ReadonlyArray<readonly [string, BlockList]> = [
  ['a loopback address', ranges('127.0.0.0/8', '::1/128')],
  ['a link-local address', ranges('169.254.0.0/16', 'fe80::/10')],
  ['a private address', ranges('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7')],
  // All of 0/8 ("this network"), not only 0.0.0.0, which connects to this host.
  ['an unspecified address', ranges('0.0.0.0/8', '::/128')]
]

function parseEntry (entry: string): AllowEntry {
  const invalid = (why: string): Error => new Error(`PEER_ALLOWLIST entry "${entry}": ${why}`)
  if (entry.includes('://')) throw invalid('give a host, not a URL (no scheme)')
  if (/\s/.test(entry)) throw invalid('contains spaces')
  if (/[?#\\]/.test(entry)) throw invalid('give a host, not a URL (no path)')
  if (entry.includes('@')) throw invalid('give a host, without a user name')
  if (entry.includes('/')) return parseRange(entry, invalid)
  let host: string
  let port: string | undefined
  if (entry.startsWith('[')) {
    const literal = /^\[([^\]]*)\](?::(.*))?$/.exec(entry)
    if (literal === null || !isIPv6(literal[1]!)) throw invalid('not a bracketed IPv6 address')
    host = literal[1]!
    port = literal[2]
  } else {
    const parts = entry.split(':')
    if (parts.length > 2) throw invalid('an IPv6 address must be in brackets, as in [::1]:8080')
    host = parts[0]!
    port = parts[1]
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw invalid('the port must be a number from 1 to 65535')
  }
  const portNumber = port === undefined ? null : Number(port)
  if (isIPv6(host)) return { kind: 'addresses', addresses: ranges(`${host}/128`), port: portNumber }
  const subdomains = host.startsWith('*.')
  const name = subdomains ? host.slice(2) : host
  if (name.includes('*')) throw invalid('* is only allowed as a whole first label, as in *.example.org')
  const normalized = normalizeHost(name)
  if (normalized === null) throw invalid('not a host name or IP address')
  if (isIPv4(normalized)) {
    if (subdomains) throw invalid('*. must be followed by a domain name, not an address')
    return { kind: 'addresses', addresses: ranges(`${normalized}/32`), port: portNumber }
  }
  return { kind: 'name', host: normalized, subdomains, port: portNumber }
}

/** `address/prefix`, IPv6 without brackets since a range has no port to tell apart. */
function parseRange (entry: string, invalid: (why: string) => Error): AllowEntry {
  const [network, prefix, ...rest] = entry.split('/') as [string, string, ...string[]]
  const family = isIP(network)
  if (family === 0 || rest.length > 0) throw invalid('give a host without a path, or an address range as in 10.0.0.0/8 or fd00::/8')
  if (prefix.includes(':')) throw invalid('a range takes no port')
  const longest = family === 4 ? 32 : 128
  if (!(/^\d{1,3}$/.test(prefix) && Number(prefix) <= longest)) {
    throw invalid(`the prefix length of an IPv${family} range must be a number from 0 to ${longest}`)
  }
  return { kind: 'addresses', addresses: ranges(entry), port: null }
}

/** The host as URL.hostname spells it, or null when it is not a host name or IPv4 address. */
function normalizeHost (name: string): string | null {
  if (name === '') return null
  let hostname: string
  try {
    // The URL parser is what spells the hostnames allows() compares with (case, punycode, IPv4 forms such as 127.1).
    hostname = new URL(`http://${name}/`).hostname
  } catch {
    return null
  }
  return hostname.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) ? hostname : null
}

const defaultPorts: Partial<Record<string, number>> = { 'http:': 80, 'https:': 443 }

/** The URL's port, or its scheme's default. */
export function portOf (url: URL): number | undefined {
  return url.port === '' ? defaultPorts[url.protocol] : Number(url.port)
}
