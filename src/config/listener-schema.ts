/**
 * TLS termination on the gateway's own listener (issue 5): the certificate and key files, the protocol
 * floor, HTTP/2, a plain-HTTP listener that redirects to HTTPS, HSTS, and certificate reload.
 */
import { Type } from '@sinclair/typebox'
import { TLS_DEFAULTS } from './defaults.js'
import { Policy } from './schema-kit.js'

/** Defaults of gateway.tls (kept here: no other part of the config uses them). */
export const RedirectHttp = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port of the plain-HTTP listener (0 picks a free one).', examples: [80, 8080] }),
  host: Type.Optional(Type.String({ minLength: 1, description: 'Interface it listens on; default: the HTTPS listener\'s.' }))
}, {
  additionalProperties: false,
  description: 'A plain-HTTP listener that answers 308 to the same URL on https://. It answers the admin healthz and readyz itself, so plain-HTTP probes keep working.'
})

export const HstsOptions = Type.Object({
  maxAge: Type.Optional(Type.Integer({ minimum: 0, maximum: 63_072_000, default: TLS_DEFAULTS.hstsMaxAge, description: 'Seconds browsers remember to use HTTPS only (0 makes them forget).' })),
  includeSubDomains: Type.Optional(Type.Boolean({ default: false, description: 'Apply to every subdomain too.' })),
  preload: Type.Optional(Type.Boolean({ default: false, description: 'Ask for HSTS preload lists (needs includeSubDomains and maxAge ≥ 31536000).' }))
}, { additionalProperties: false })

export const GatewayTls = Type.Object({
  cert: Type.String({
    minLength: 1,
    description: 'PEM certificate file, leaf first then intermediates (relative to services.json).',
    examples: ['certs/dev.crt', '${GATEHOUSE_TLS_CERT}']
  }),
  key: Type.String({
    minLength: 1,
    description: 'PEM private key file of the certificate, unencrypted (relative to services.json).',
    examples: ['certs/dev.key', '${GATEHOUSE_TLS_KEY}']
  }),
  minVersion: Type.Optional(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
    default: TLS_DEFAULTS.minVersion, description: 'Oldest TLS version accepted.'
  })),
  http2: Type.Optional(Type.Boolean({ default: false, description: 'Serve HTTP/2, with HTTP/1.1 for clients that do not offer it (ALPN).' })),
  redirectHttp: Type.Optional(Type.Union([Type.Literal(false), RedirectHttp], { default: false, description: RedirectHttp.description })),
  hsts: Type.Optional(Policy(HstsOptions, 'Send Strict-Transport-Security on HTTPS responses: true for the defaults, or options.')),
  reload: Type.Optional(Type.Boolean({ default: true, description: 'Watch the certificate and key files and load a new pair without a restart (SIGHUP reloads too).' }))
}, { additionalProperties: false, description: 'Serve HTTPS instead of HTTP: TLS 1.2 or newer, Node\'s default ciphers.' })
