/** A gateway with one `orders` service behind auth, for the auth tests. */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildGateway } from '../../src/gateway.js'
import { configFor } from '../helpers/gateway.js'
import { HS_SECRET } from '../helpers/jwt.js'
import { expectProblem } from '../helpers/problem.js'

export const HS_KEYS = { secrets: [{ secret: HS_SECRET }] }

export async function authGateway (upstream: string, auth: unknown = true, gatewayAuth: Record<string, unknown> = HS_KEYS, baseDir?: string): Promise<FastifyInstance> {
  const config = await configFor({ gateway: { auth: gatewayAuth }, services: [{ name: 'orders', prefix: '/orders', upstreams: [upstream], auth }] }, baseDir)
  const app = buildGateway(config, { logger: false })
  await app.ready()
  return app
}

export async function getWithToken (app: FastifyInstance, token: string | null, url = '/orders/1', method: 'GET' | 'POST' | 'DELETE' = 'GET'): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: token === null ? {} : { authorization: `Bearer ${token}` } })
}

/** A 401 with the invalid_token challenge and the given code. */
export function expectRefused (response: LightMyRequestResponse, code = 'GATEHOUSE_TOKEN_INVALID'): void {
  expectProblem({ statusCode: response.statusCode, headers: response.headers, body: response.body }, 401, code)
  const challenge = String(response.headers['www-authenticate'])
  expect401Challenge(challenge, code)
}

function expect401Challenge (challenge: string, code: string): void {
  if (!challenge.startsWith('Bearer realm="gatehouse"')) throw new Error(`unexpected challenge ${challenge}`)
  const hasError = challenge.includes('error="invalid_token"')
  if (code === 'GATEHOUSE_AUTH_REQUIRED' ? hasError : !hasError) throw new Error(`challenge ${challenge} does not fit ${code}`)
}
