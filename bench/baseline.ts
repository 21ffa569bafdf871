/**
 * The hand-written reference: Fastify + @fastify/http-proxy with defaults. With BASELINE_LOGGER=1 it is
 * the same app with Fastify's default request logging (`logger: true`: an "incoming request" and a
 * "request completed" JSON line per request, written synchronously to stdout, which the runner discards).
 * Announces its URL on stderr.
 */
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'
import { announceUrl, requireBackendUrl } from './child-protocol.js'

const app = Fastify({ logger: process.env.BASELINE_LOGGER === '1' })
await app.register(proxy, { upstream: requireBackendUrl(), prefix: '/api' })

announceUrl(await app.listen({ host: '127.0.0.1', port: 0 }))
