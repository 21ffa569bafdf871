/** The hand-written reference: Fastify + @fastify/http-proxy with defaults. Announces its URL on stdout. */
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'
import { announceUrl, requireBackendUrl } from './child-protocol.js'

const app = Fastify({ logger: false })
await app.register(proxy, { upstream: requireBackendUrl(), prefix: '/api' })

announceUrl(await app.listen({ host: '127.0.0.1', port: 0 }))
