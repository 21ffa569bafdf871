import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildGateway } from '../../src/gateway.js'
import { configFor } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('the access log', () => {
  let upstream: TestUpstream
  let app: FastifyInstance
  let lines: Array<Record<string, unknown>>

  beforeEach(async () => {
    upstream = await startUpstream()
    lines = []
    const sink = new Writable({
      write (chunk: Buffer, _encoding, callback) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>)
        callback()
      }
    })
    const config = await configFor({ services: [{ name: 'users', prefix: '/users', upstreams: [upstream.url] }] })
    app = buildGateway(config, { loggerInstance: pino({ level: 'info' }, sink) })
    await app.ready()
  })

  afterEach(async () => {
    await app.close()
    await upstream.close()
  })

  it('writes exactly one line per proxied request with id, method, path, service, upstream, status, duration and bytes', async () => {
    await app.inject({ method: 'GET', url: '/users/42?token=secret', headers: { 'x-request-id': 'req-1' } })
    const access = lines.filter((line) => line.msg === 'request')
    expect(access).toHaveLength(1)
    expect(access[0]).toMatchObject({
      reqId: 'req-1',
      method: 'GET',
      path: '/users/42',
      service: 'users',
      upstream: upstream.url,
      status: 200,
      durationMs: expect.any(Number),
      bytes: expect.any(Number)
    })
    expect(JSON.stringify(lines)).not.toContain('secret')
  })

  it('logs requests that never reach a service too', async () => {
    await app.inject({ method: 'GET', url: '/nowhere' })
    await app.inject({ method: 'POST', url: '/users/1', headers: { 'content-length': String(11 * 1024 * 1024) }, payload: '' })
    const access = lines.filter((line) => line.msg === 'request')
    expect(access.map((line) => [line.path, line.status, line.service, line.upstream])).toEqual([
      ['/nowhere', 404, null, null],
      ['/users/1', 413, 'users', null]
    ])
  })

  it('keeps probes out of the access log', async () => {
    await app.inject({ method: 'GET', url: '/_gatehouse/healthz' })
    expect(lines.filter((line) => line.msg === 'request')).toHaveLength(0)
  })
})
