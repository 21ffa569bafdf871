/** The full-stack target's secret and the one bearer token the load generator sends (valid for an hour). */
import { randomBytes } from 'node:crypto'
import { mintDevToken } from '../src/auth/dev-token.js'

export async function benchToken (): Promise<{ secret: string, token: string }> {
  const secret = randomBytes(32).toString('base64url')
  const auth = {
    secrets: [{ secret, algorithms: ['HS256'], kid: null }],
    publicKeys: [],
    jwks: [],
    issuers: null,
    audiences: null,
    clockTolerance: 0,
    requireExp: true,
    maxTokenBytes: 8192,
    cacheSize: 1000
  }
  const minted = await mintDevToken(auth, { subject: 'bench-user', scope: 'api:read', ttl: '1h' })
  if (minted.token === undefined) throw new Error(`cannot mint the bench token: ${minted.problem ?? 'unknown'}`)
  return { secret, token: minted.token }
}
