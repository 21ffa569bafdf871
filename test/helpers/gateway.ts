/** Gateways for tests: built from a services.json value through the real loader, logging off. */
import type { FastifyInstance } from 'fastify'
import { parseConfig } from '../../src/config/load.js'
import type { GatewayConfig } from '../../src/config/types.js'
import { buildGateway } from '../../src/gateway.js'
import { startGateway, type RunningGateway } from '../../src/server.js'

export type ServicesFileValue = Record<string, unknown> & { services: Array<Record<string, unknown>> }

export async function configFor (file: ServicesFileValue, baseDir?: string): Promise<GatewayConfig> {
  return parseConfig(file, { env: {}, ...(baseDir ? { baseDir } : {}) })
}

/** A gateway for `inject` (not listening). Close it in afterEach. */
export async function gatewayFor (file: ServicesFileValue): Promise<FastifyInstance> {
  const app = buildGateway(await configFor(file), { logger: false })
  await app.ready()
  return app
}

/** A listening gateway on 127.0.0.1, port 0. */
export async function listeningGatewayFor (file: ServicesFileValue): Promise<RunningGateway> {
  return startGateway(await configFor(file), { host: '127.0.0.1', port: 0 }, { logger: false })
}

/** The smallest services.json for one service in front of `upstreams`. */
export function oneService (upstreams: string[], extra: Record<string, unknown> = {}, gateway: Record<string, unknown> = {}): ServicesFileValue {
  return { gateway, services: [{ name: 'users', prefix: '/users', upstreams, ...extra }] }
}
