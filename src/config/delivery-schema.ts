/**
 * The response-delivery part of services.json (issue 4): the RFC 9111 shared cache in front of a service
 * and response compression. Storage and limits are set once under `gateway`; each service opts in.
 */
import { Type } from '@sinclair/typebox'
import { DEFAULTS } from './defaults.js'
import { Milliseconds, Policy } from './schema-kit.js'

export const COMPRESSION_ENCODINGS = ['zstd', 'br', 'gzip', 'deflate'] as const

export const GatewayCache = Type.Object({
  store: Type.Optional(Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
    default: 'memory',
    description: '"memory": per process, bounded by maxBytes. "redis": shared by every gateway process (needs gateway.redis).'
  })),
  maxBytes: Type.Optional(Type.Integer({
    minimum: 1024, default: DEFAULTS.cache.maxBytes, description: 'Bodies and headers held by the memory store; least recently used entries are evicted above it.'
  })),
  maxObjectBytes: Type.Optional(Type.Integer({
    minimum: 1, default: DEFAULTS.cache.maxObjectBytes, description: 'Largest body stored; bigger responses stream through unstored.'
  })),
  collapseTimeout: Type.Optional(Milliseconds(
    'How long concurrent misses for one resource wait for the first one to fill the cache before going upstream themselves',
    DEFAULTS.cache.collapseTimeout, 300_000)),
  purgeToken: Type.Optional(Type.String({
    minLength: 32,
    description: 'Bearer token for POST <adminPrefix>/cache/purge (at least 32 characters). Without it the purge endpoint does not exist. Write it as ${ENV_VAR}.',
    examples: ['${GATEHOUSE_PURGE_TOKEN}']
  }))
}, { additionalProperties: false, description: 'Storage of the response cache that services opt into with `cache`.' })

export const GatewayCompression = Type.Object({
  threshold: Type.Optional(Type.Integer({
    minimum: 0,
    default: DEFAULTS.compression.threshold,
    description: 'Smallest upstream Content-Length that is compressed; smaller and unknown-length bodies pass through with their length.'
  })),
  encodings: Type.Optional(Type.Array(Type.Union(COMPRESSION_ENCODINGS.map((name) => Type.Literal(name))), {
    minItems: 1,
    uniqueItems: true,
    default: [...DEFAULTS.compression.encodings],
    description: 'Encodings offered, in the server\'s order of preference ("zstd" needs Node.js 22.15 or later).'
  })),
  brotliQuality: Type.Optional(Type.Integer({ minimum: 0, maximum: 11, default: DEFAULTS.compression.brotliQuality, description: 'Brotli quality (11 is far slower for little gain).' })),
  gzipLevel: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, default: DEFAULTS.compression.gzipLevel, description: 'gzip and deflate level.' }))
}, { additionalProperties: false, description: 'How responses are compressed for clients that accept it.' })

export const ServiceCache = Type.Object({
  partitionBySubject: Type.Optional(Type.Boolean({
    default: false,
    description: 'Also store answers to authenticated requests, `private` ones included, each kept for and served to its verified token subject only.'
  }))
}, { additionalProperties: false })

export const ServiceDelivery = {
  cache: Type.Optional(Policy(ServiceCache,
    'RFC 9111 shared cache in front of this service (true: with defaults). Off unless set; the upstream\'s Cache-Control decides what is stored.')),
  compression: Type.Optional(Type.Boolean({ default: true, description: 'Compress this service\'s responses when worth it (see gateway.compression).' }))
}

export const GatewayDelivery = {
  cache: Type.Optional(GatewayCache),
  compression: Type.Optional(GatewayCompression)
}
