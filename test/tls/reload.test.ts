import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { copyFile, mkdtemp, rename, writeFile } from 'node:fs/promises'
import { Agent } from 'node:https'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startGateway, type RunningGateway } from '../../src/server.js'
import type { CertificateReloader } from '../../src/tls/reload.js'
import { configFor, oneService } from '../helpers/gateway.js'
import { httpsGet, makeCertificates, type IssuedCertificate, type TestCertificates } from '../helpers/tls.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

describe('certificate reload', () => {
  let certificates: TestCertificates
  let renewed: IssuedCertificate
  let unrelated: IssuedCertificate
  let upstream: TestUpstream
  let gateway: RunningGateway | undefined
  /** The directory holding the files the gateway serves (tls.pem, tls.key), one per test. */
  let live: string

  beforeAll(async () => {
    certificates = await makeCertificates()
    renewed = await certificates.issue('renewed', { commonName: 'renewed.localhost' })
    unrelated = await certificates.issue('unrelated')
  })

  afterAll(async () => {
    await certificates.remove()
  })

  beforeEach(async () => {
    upstream = await startUpstream()
    live = await mkdtemp(join(certificates.dir, 'live-'))
    await copyFile(join(certificates.dir, 'server.pem'), join(live, 'tls.pem'))
    await copyFile(join(certificates.dir, 'server.key'), join(live, 'tls.key'))
  })

  afterEach(async () => {
    await gateway?.close()
    gateway = undefined
    await upstream.close()
  })

  async function start (tls: Record<string, unknown> = {}): Promise<{ url: string, reloader: CertificateReloader }> {
    const config = await configFor(oneService([upstream.url], {}, { tls: { cert: 'tls.pem', key: 'tls.key', ...tls } }), live)
    gateway = await startGateway(config, { host: '127.0.0.1', port: 0 }, { logger: false })
    if (gateway.certificates === null) throw new Error('no certificate reloader')
    return { url: gateway.url, reloader: gateway.certificates }
  }

  /** Replaces a served file the way deploy tools do: write aside, then rename over it. */
  async function replace (name: 'tls.pem' | 'tls.key', text: string): Promise<void> {
    await writeFile(join(live, `${name}.new`), text)
    await rename(join(live, `${name}.new`), join(live, name))
  }

  async function serialSeenByNewConnection (url: string): Promise<string> {
    return (await httpsGet(`${url}/users/1`, { ca: certificates.ca })).certificate.serialNumber
  }

  const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber

  it('serves a new certificate to new connections after the files change, while an open keep-alive connection keeps working', async () => {
    const { url, reloader } = await start()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = await httpsGet(`${url}/users/1`, { ca: certificates.ca, agent })
    expect(before.certificate.serialNumber).toBe(serialOf(certificates.cert))

    const reloaded = once(reloader, 'reloaded')
    await Promise.all([replace('tls.pem', renewed.cert), replace('tls.key', renewed.key)])
    const [summary] = await reloaded as [{ subject: string, serialNumber: string }]
    expect(summary.subject).toContain('renewed.localhost')

    const fresh = await httpsGet(`${url}/users/2`, { ca: certificates.ca })
    expect(fresh.status).toBe(200)
    expect(fresh.certificate.serialNumber).toBe(serialOf(renewed.cert))
    expect(fresh.certificate.subject.CN).toBe('renewed.localhost')

    // The connection opened before the reload is the same one, still on the old certificate, and still serving.
    const after = await httpsGet(`${url}/users/3`, { ca: certificates.ca, agent })
    expect(after.status).toBe(200)
    expect(after.certificate.serialNumber).toBe(before.certificate.serialNumber)
    agent.destroy()
  })

  it('reloads on SIGHUP, also with file watching off', async () => {
    const { url, reloader } = await start({ reload: false })
    await Promise.all([replace('tls.pem', renewed.cert), replace('tls.key', renewed.key)])
    // Nothing watches the files: the old certificate is still served.
    expect(await serialSeenByNewConnection(url)).toBe(serialOf(certificates.cert))
    const reloaded = once(reloader, 'reloaded')
    process.emit('SIGHUP', 'SIGHUP')
    await reloaded
    expect((await httpsGet(`${url}/users/1`, { ca: certificates.ca })).certificate.subject.CN).toBe('renewed.localhost')
  })

  it('keeps serving the current certificate when the new key does not belong to the new certificate', async () => {
    const { url, reloader } = await start()
    const failed = once(reloader, 'failed')
    await replace('tls.pem', unrelated.cert)
    const [error] = await failed as [Error]
    expect(error.message).toMatch(/tls\.key does not belong to the certificate/)
    expect(await serialSeenByNewConnection(url)).toBe(serialOf(certificates.cert))
  })

  it('keeps serving the current certificate when the new file is not a certificate', async () => {
    const { url, reloader } = await start()
    await replace('tls.pem', 'not a certificate\n')
    await expect(reloader.reload()).resolves.toBe('failed')
    expect(await serialSeenByNewConnection(url)).toBe(serialOf(certificates.cert))
    // Putting a valid pair back recovers.
    await Promise.all([replace('tls.pem', renewed.cert), replace('tls.key', renewed.key)])
    await expect(reloader.reload()).resolves.toBe('reloaded')
    expect((await httpsGet(`${url}/users/1`, { ca: certificates.ca })).certificate.subject.CN).toBe('renewed.localhost')
  })

  it('stops listening for SIGHUP once the gateway is closed', async () => {
    const listeners = process.listenerCount('SIGHUP')
    await start()
    expect(process.listenerCount('SIGHUP')).toBe(listeners + 1)
    await gateway?.close()
    gateway = undefined
    expect(process.listenerCount('SIGHUP')).toBe(listeners)
  })
})
