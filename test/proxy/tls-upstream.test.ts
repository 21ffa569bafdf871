import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildGateway } from '../../src/gateway.js'
import { configFor, gatewayFor, oneService } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import { makeCertificates, startHttpsUpstream, type HttpsUpstream, type TestCertificates } from '../helpers/tls.js'

describe('an https upstream', () => {
  let certificates: TestCertificates
  let upstream: HttpsUpstream
  let app: FastifyInstance | undefined

  beforeAll(async () => {
    certificates = await makeCertificates()
  })

  afterAll(async () => {
    await certificates.remove()
  })

  beforeEach(async () => {
    upstream = await startHttpsUpstream(certificates)
  })

  afterEach(async () => {
    await app?.close()
    await upstream.close()
    app = undefined
  })

  async function expectProxied (gateway: FastifyInstance): Promise<void> {
    const response = await gateway.inject({ method: 'GET', url: '/users/42' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ method: 'GET', url: '/42' })
    expect(upstream.requests).toEqual(['/42'])
  }

  it('is refused with 502 GATEHOUSE_UPSTREAM_TLS when its CA is not configured (verified by default)', async () => {
    app = await gatewayFor(oneService([upstream.url]))
    const response = await app.inject({ method: 'GET', url: '/users/42' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_TLS', [String(upstream.port)])
    expect(upstream.requests).toEqual([])
  })

  it('is reached when "tls.ca" names the CA file relative to the config\'s directory', async () => {
    const config = await configFor(oneService([upstream.url], { tls: { ca: certificates.caFile } }), certificates.dir)
    app = buildGateway(config, { logger: false })
    await app.ready()
    await expectProxied(app)
  })

  it('is reached when "tls.ca" is an absolute path', async () => {
    app = await gatewayFor(oneService([upstream.url], { tls: { ca: certificates.caPath } }))
    await expectProxied(app)
  })

  it('is refused when its certificate does not name the server, even from the trusted CA', async () => {
    app = await gatewayFor(oneService([upstream.url], { tls: { ca: certificates.caPath, servername: 'orders.internal' } }))
    const response = await app.inject({ method: 'GET', url: '/users/42' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_TLS', [String(upstream.port)])
    expect(upstream.requests).toEqual([])
  })

  it('is reached without verification when "tls.verify" is false', async () => {
    app = await gatewayFor(oneService([upstream.url], { tls: { verify: false } }))
    await expectProxied(app)
  })
})
