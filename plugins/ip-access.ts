/**
 * A service's IP allow/deny lists (issue 3, "Network access"): 403 before any other policy of the service
 * runs. The client IP is Fastify's `request.ip`, which believes X-Forwarded-For only from trusted proxies.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IpAccessSettings } from '../src/config/types.js'
import { IpForbiddenError } from '../src/errors.js'
import { compileIpAccess } from '../src/http/ip-access.js'

export interface IpAccessOptions {
  readonly settings: IpAccessSettings
}

async function ipAccess (scope: FastifyInstance, { settings }: IpAccessOptions): Promise<void> {
  const isAllowed = compileIpAccess(settings)
  scope.addHook('onRequest', function checkClientIp (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) {
    done(isAllowed(request.ip) ? undefined : new IpForbiddenError())
  })
}

export default fp(ipAccess, { name: 'gatehouse-ip-access', fastify: '5.x' })
