import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import type { ConfigProblem } from '../../src/config/problems.js'
import { ConfigInvalidError } from '../../src/errors.js'
import { routingTable } from '../../src/routing-table.js'
import { makeCertificates, type IssuedCertificate, type TestCertificates } from '../helpers/tls.js'

const service = { name: 'users', prefix: '/users', upstreams: ['https://127.0.0.1:3001'] }

describe('TLS settings in services.json', () => {
  let certificates: TestCertificates
  let other: IssuedCertificate

  beforeAll(async () => {
    certificates = await makeCertificates()
    other = await certificates.issue('other')
    await writeFile(join(certificates.dir, 'garbage.pem'), 'not a certificate\n')
  })

  afterAll(async () => {
    await certificates.remove()
  })

  const parse = (file: Record<string, unknown>, env: Record<string, string> = {}): ReturnType<typeof parseConfig> =>
    parseConfig(file, { baseDir: certificates.dir, env })

  async function problemsOf (file: Record<string, unknown>): Promise<ConfigProblem[]> {
    try {
      await parse(file)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigInvalidError)
      return [...(error as ConfigInvalidError).problems]
    }
    throw new Error('expected the config to be refused')
  }

  describe('gateway.tls', () => {
    it('reads the pair, keeps the absolute paths for reload and fills in the defaults', async () => {
      const config = await parse({ gateway: { tls: { cert: 'server.pem', key: 'server.key' } }, services: [service] })
      expect(config.tls).toEqual({
        certFile: join(certificates.dir, 'server.pem'),
        keyFile: join(certificates.dir, 'server.key'),
        cert: certificates.cert,
        key: certificates.key,
        minVersion: 'TLSv1.2',
        http2: false,
        redirectHttp: null,
        hsts: null,
        reload: true
      })
    })

    it('takes the paths from ${ENV} placeholders and booleans from strings', async () => {
      const config = await parse({
        gateway: {
          listen: { port: '${PORT}' },
          tls: { cert: '${TLS_CERT}', key: '${TLS_KEY}', http2: '${TLS_HTTP2:-false}', hsts: true, redirectHttp: { port: '${REDIRECT_PORT}' } }
        },
        services: [service]
      }, { TLS_CERT: join(certificates.dir, 'server.pem'), TLS_KEY: 'server.key', TLS_HTTP2: 'true', PORT: '8443', REDIRECT_PORT: '8080' })
      expect(config.tls).toMatchObject({ http2: true, hsts: 'max-age=15552000', redirectHttp: { port: 8080, host: null } })
    })

    it('is null without a tls section', async () => {
      expect((await parse({ services: [service] })).tls).toBeNull()
    })

    it('reports a missing file at its path', async () => {
      expect(await problemsOf({ gateway: { tls: { cert: 'missing.pem', key: 'server.key' } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.cert', message: 'file "missing.pem" does not exist' })
      ])
    })

    it('reports a key that does not belong to the certificate', async () => {
      expect(await problemsOf({ gateway: { tls: { cert: 'server.pem', key: other.keyFile } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.key', message: `"${other.keyFile}" does not belong to the certificate` })
      ])
    })

    it('reports a certificate file that is not a certificate, and a key file that is not a key', async () => {
      expect(await problemsOf({ gateway: { tls: { cert: 'garbage.pem', key: 'server.key' } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.cert', message: '"garbage.pem" is not a PEM certificate' })
      ])
      expect(await problemsOf({ gateway: { tls: { cert: 'server.pem', key: 'server.pem' } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.key', message: '"server.pem" is not an unencrypted PEM private key' })
      ])
    })

    it('needs both cert and key, and refuses unknown keys and versions below TLS 1.2', async () => {
      const paths = (await problemsOf({ gateway: { tls: { cert: 'server.pem', minVersion: 'TLSv1.1', ciphers: 'ALL' } }, services: [service] }))
        .map((problem) => problem.path)
      expect(paths).toEqual(expect.arrayContaining(['gateway.tls.key', 'gateway.tls.minVersion', 'gateway.tls.ciphers']))
    })

    it('refuses HSTS preload without includeSubDomains and a year of max-age', async () => {
      expect(await problemsOf({ gateway: { tls: { cert: 'server.pem', key: 'server.key', hsts: { preload: true } } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.hsts.preload' })
      ])
    })

    it('refuses a redirect listener on the HTTPS port (8080 unless set)', async () => {
      expect(await problemsOf({ gateway: { tls: { cert: 'server.pem', key: 'server.key', redirectHttp: { port: 8080 } } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.redirectHttp.port', message: 'port 8080 is the HTTPS listener\'s own port' })
      ])
      expect(await problemsOf({ gateway: { listen: { port: 8443 }, tls: { cert: 'server.pem', key: 'server.key', redirectHttp: { port: 8443 } } }, services: [service] })).toEqual([
        expect.objectContaining({ path: 'gateway.tls.redirectHttp.port' })
      ])
    })

    it('puts the listener in the routing table', async () => {
      const config = await parse({ gateway: { listen: { port: 8443 }, tls: { cert: 'server.pem', key: 'server.key', http2: true, hsts: true, redirectHttp: { port: 8080 } } }, services: [service] })
      expect(routingTable(config).split('\n')[0]).toBe(
        '  listener: HTTPS with HTTP/2 and HTTP/1.1, TLSv1.2 or newer, HTTP on port 8080 redirects (308), HSTS, certificate reloaded on change')
    })
  })

  describe('services[].tls client certificate (mTLS to the upstream)', () => {
    it('reads the pair', async () => {
      const config = await parse({ services: [{ ...service, tls: { ca: 'ca.pem', cert: other.certFile, key: other.keyFile } }] })
      expect(config.services[0]?.tls.clientCertificate).toEqual({ cert: other.cert, key: other.key })
    })

    it('reports a cert without a key, and a key without a cert', async () => {
      expect(await problemsOf({ services: [{ ...service, tls: { cert: other.certFile } }] })).toEqual([
        expect.objectContaining({ path: 'services[0].tls.key', message: 'tls.cert is set but tls.key is not' })
      ])
      expect(await problemsOf({ services: [{ ...service, tls: { key: other.keyFile } }] })).toEqual([
        expect.objectContaining({ path: 'services[0].tls.cert', message: 'tls.key is set but tls.cert is not' })
      ])
    })

    it('reports a missing file and a key of another certificate', async () => {
      expect(await problemsOf({ services: [{ ...service, tls: { cert: 'missing.pem', key: other.keyFile } }] })).toEqual([
        expect.objectContaining({ path: 'services[0].tls.cert', message: 'file "missing.pem" does not exist' })
      ])
      expect(await problemsOf({ services: [{ ...service, tls: { cert: other.certFile, key: 'server.key' } }] })).toEqual([
        expect.objectContaining({ path: 'services[0].tls.key', message: '"server.key" does not belong to the certificate' })
      ])
    })
  })
})
