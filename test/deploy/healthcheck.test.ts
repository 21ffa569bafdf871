/** bin/healthcheck.js, the Dockerfile's HEALTHCHECK, against real gateways over HTTP and HTTPS. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { startGateway } from '../../src/server.js'
import { configFor, listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { makeCertificates, type TestCertificates } from '../helpers/tls.js'

const PROBE = fileURLToPath(new URL('../../bin/healthcheck.js', import.meta.url))

async function probe (env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, [PROBE], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' })
  const [code] = await once(child, 'exit') as [number | null]
  return code
}

describe('the container health probe', () => {
  let plain: RunningGateway
  let secure: RunningGateway
  let certificates: TestCertificates

  beforeAll(async () => {
    certificates = await makeCertificates()
    await certificates.issue('server')
    plain = await listeningGatewayFor(oneService(['http://127.0.0.1:9']))
    secure = await startGateway(await configFor(oneService(['http://127.0.0.1:9'], {}, { tls: { cert: 'server.pem', key: 'server.key' } }), certificates.dir),
      { host: '127.0.0.1', port: 0 }, { logger: false })
  })

  afterAll(async () => {
    await plain.close()
    await secure.close()
    await certificates.remove()
  })

  it('passes for a gateway on GATEHOUSE_PORT over HTTP', async () => {
    expect(await probe({ GATEHOUSE_PORT: new URL(plain.url).port })).toBe(0)
  })

  it('passes over HTTPS with GATEHOUSE_HEALTHCHECK_URL, whatever name the certificate is for', async () => {
    expect(await probe({ GATEHOUSE_HEALTHCHECK_URL: `${secure.url}/_gatehouse/healthz` })).toBe(0)
  })

  it('fails when nothing answers, or the answer is not 200', async () => {
    expect(await probe({ GATEHOUSE_PORT: '9' })).toBe(1)
    expect(await probe({ GATEHOUSE_HEALTHCHECK_URL: `${plain.url}/_gatehouse/nothing` })).toBe(1)
  })
})
