import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildGateway } from '../../src/gateway.js'
import { configFor, oneService } from '../helpers/gateway.js'
import { expectProblem } from '../helpers/problem.js'
import { makeCertificates, startHttpsUpstream, type HttpsUpstream, type IssuedCertificate, type TestCertificates } from '../helpers/tls.js'

describe('an https upstream that requires a client certificate (mTLS)', () => {
  let certificates: TestCertificates
  let client: IssuedCertificate
  let upstream: HttpsUpstream
  let app: FastifyInstance | undefined

  beforeAll(async () => {
    certificates = await makeCertificates()
    client = await certificates.issue('gatehouse-client', { commonName: 'gatehouse', usage: 'clientAuth' })
  })

  afterAll(async () => {
    await certificates.remove()
  })

  beforeEach(async () => {
    upstream = await startHttpsUpstream(certificates, { requireClientCertificate: true })
  })

  afterEach(async () => {
    await app?.close()
    app = undefined
    await upstream.close()
  })

  async function gatewayWith (tls: Record<string, unknown>): Promise<FastifyInstance> {
    app = buildGateway(await configFor(oneService([upstream.url], { tls }), certificates.dir), { logger: false })
    await app.ready()
    return app
  }

  it('gets the certificate named by "tls.cert" and "tls.key", and answers', async () => {
    const gateway = await gatewayWith({ ca: certificates.caFile, cert: client.certFile, key: client.keyFile })
    const response = await gateway.inject({ method: 'GET', url: '/users/42' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-client-subject']).toBe('gatehouse')
    expect(response.json()).toMatchObject({ url: '/42' })
    expect(upstream.requests).toEqual(['/42'])
  })

  it('is refused with a 502 problem without a client certificate, and never reached', async () => {
    const gateway = await gatewayWith({ ca: certificates.caFile })
    const response = await gateway.inject({ method: 'GET', url: '/users/42' })
    // Over TLS 1.3 the upstream's "certificate required" alert comes after the client's side of the
    // handshake, and undici reports the closed socket rather than the alert: the gateway sees a reset.
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(upstream.port)])
    expect(upstream.requests).toEqual([])
  })

  it('is a TLS fault (502 GATEHOUSE_UPSTREAM_TLS) when the upstream\'s alert arrives, as over TLS 1.2', async () => {
    await upstream.close()
    upstream = await startHttpsUpstream(certificates, { requireClientCertificate: true, maxVersion: 'TLSv1.2' })
    const gateway = await gatewayWith({ ca: certificates.caFile })
    const response = await gateway.inject({ method: 'GET', url: '/users/42' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_TLS', [String(upstream.port)])
    expect(upstream.requests).toEqual([])
  })
})
