/**
 * Real tokens for tests, minted with jose (an independent library from the fast-jwt that verifies them),
 * key pairs written as PEM files, and a real JWKS server on port 0 that counts its fetches and rotates keys.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export const HS_SECRET = 'test-secret-that-is-at-least-32-bytes-long!'

export type KeyAlg = 'RS256' | 'ES256' | 'EdDSA' | 'PS256'

export interface TestKeyPair {
  readonly alg: KeyAlg
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicPem: string
  readonly publicJwk: JWK
}

export async function keyPair (alg: KeyAlg, kid = `${alg.toLowerCase()}-key`): Promise<TestKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true })
  return { alg, kid, privateKey, publicPem: await exportSPKI(publicKey), publicJwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' } }
}

export interface MintOptions {
  readonly header?: Record<string, unknown>
  /** Seconds from now; null leaves `exp` out. Default 300. */
  readonly expiresIn?: number | null
}

const now = (): number => Math.floor(Date.now() / 1000)

/** An HS256 token signed with HS_SECRET (or `secret`). */
export async function hsToken (claims: JWTPayload = {}, options: MintOptions & { secret?: string, alg?: string } = {}): Promise<string> {
  return sign(claims, new TextEncoder().encode(options.secret ?? HS_SECRET), options.alg ?? 'HS256', options)
}

/** A token signed with the pair's private key, its kid in the header. */
export async function pairToken (pair: TestKeyPair, claims: JWTPayload = {}, options: MintOptions = {}): Promise<string> {
  return sign(claims, pair.privateKey, pair.alg, { ...options, header: { kid: pair.kid, ...options.header } })
}

async function sign (claims: JWTPayload, key: CryptoKey | Uint8Array, alg: string, options: MintOptions): Promise<string> {
  const jwt = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg, ...options.header }).setIssuedAt()
  const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn
  if (expiresIn !== null) jwt.setExpirationTime(now() + expiresIn)
  return jwt.sign(key)
}

/** A token assembled by hand from header and payload objects, with a given signature (for hostile shapes). */
export function forgedToken (header: unknown, payload: unknown, signature = ''): string {
  const encode = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
  return `${encode(header)}.${encode(payload)}.${signature}`
}

export interface JwksServer {
  readonly url: string
  /** How many times the set was fetched. */
  fetches: number
  keys: JWK[]
  /** When true, the server answers 503 (the identity provider is down). */
  failing: boolean
  close (): Promise<void>
}

export async function startJwksServer (keys: JWK[]): Promise<JwksServer> {
  const state = { fetches: 0, keys, failing: false }
  const server: Server = createServer((_request, response) => {
    state.fetches++
    if (state.failing) {
      response.writeHead(503).end()
      return
    }
    const body = JSON.stringify({ keys: state.keys })
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
}

/** A temporary directory holding `files` (name → text); remove it with the returned function. */
export async function tempFiles (files: Record<string, string>): Promise<{ dir: string, remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-auth-'))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return { dir, remove: async () => rm(dir, { recursive: true, force: true }) }
}
