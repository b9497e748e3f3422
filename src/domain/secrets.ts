/**
 * Password hashing (scrypt, with its parameters stored in the hash so they can be
 * raised later) and API key generation and digests.
 */
import { hash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const scryptParams = { N: 16384, r: 8, p: 1, keylen: 32 }

function scryptAsync (password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => {
      if (error !== null) reject(error)
      else resolve(key)
    })
  })
}

/** `scrypt$N$r$p$salt$hash`, base64url parts. */
export async function hashPassword (password: string): Promise<string> {
  const { N, r, p, keylen } = scryptParams
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, keylen, { N, r, p })
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** False for a wrong password, and for a stored hash that is damaged or of an unknown scheme. */
export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || hash === undefined || salt === undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  if (expected.length < 16) return false
  try {
    const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
      N: Number(n), r: Number(r), p: Number(p)
    })
    return timingSafeEqual(actual, expected)
  } catch {
    return false
  }
}

/**
 * A hash of a password nobody has, checked when the username is unknown so that a
 * failed login costs the same time whether or not the user exists.
 */
let decoyHash: Promise<string> | undefined
export function decoyPasswordHash (): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'))
  return decoyHash
}

const apiKeyPrefix = 'm2_'

/** A new API key: 32 random bytes, recognisable by its prefix. */
export function generateApiKey (): string {
  return apiKeyPrefix + randomBytes(32).toString('base64url')
}

/** API keys are long random secrets, so SHA-256 is enough to store them safely. */
export function apiKeyDigest (key: string): string {
  return hash('sha256', key, 'hex')
}

/**
 * The start of a key, kept in clear so that a user can tell its keys apart: the
 * prefix and four characters of a generated key (24 of its 256 random bits), at
 * most an eighth of a key supplied from outside (MOBYLE_ADMIN_API_KEY).
 */
export function apiKeyHint (key: string): string {
  if (key.startsWith(apiKeyPrefix)) return key.slice(0, apiKeyPrefix.length + 4)
  return key.slice(0, Math.min(4, Math.floor(key.length / 8)))
}

export function constantTimeEqual (a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8')
  const right = Buffer.from(b, 'utf8')
  return left.length === right.length && timingSafeEqual(left, right)
}

/** No API key is shorter (MOBYLE_ADMIN_API_KEY has at least 20 characters; generated keys 46). */
export const apiKeyMinLength = 20
