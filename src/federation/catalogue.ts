/**
 * How this server fetches a peer's catalogue, from the configuration: the limits
 * of src/federation/peer-client.ts, and this server's own name and address.
 */
import { publicUrl, type Config } from '../config.ts'
import type { FederationOptions } from '../domain/federation.ts'
import { fetchCatalogue, type PeerLimits } from './peer-client.ts'

/** Beyond the fetch's own time limit, what a sync may spend writing before its claim on the peer lapses. */
const writingSeconds = 60

function peerLimits (config: Config): PeerLimits {
  return {
    connectTimeoutMs: config.SYNC_CONNECT_TIMEOUT_SECONDS * 1000,
    totalTimeoutMs: config.SYNC_TIMEOUT_SECONDS * 1000,
    maxRedirects: config.SYNC_MAX_REDIRECTS,
    maxBytes: config.SYNC_MAX_BYTES,
    allowlist: config.peerAllowlist
  }
}

export function federationOptions (config: Config): FederationOptions {
  const limits = peerLimits(config)
  return {
    self: { name: config.SERVER_NAME, url: publicUrl(config) },
    fetchCatalogue: async (url) => await fetchCatalogue(url, limits),
    maxServices: config.SYNC_MAX_SERVICES,
    claimSeconds: config.SYNC_TIMEOUT_SECONDS + writingSeconds
  }
}
