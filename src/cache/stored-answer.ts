/**
 * Answering from a stored response: its status and fields, its current Age, Cache-Status, and the body
 * (through the compressor, which keeps encoded copies); or a 304 when the client's own condition holds.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResponseCompressor } from '../compression/compressor.js'
import { CACHE_STATUS_HEADER, CacheStatus, withTtl } from './cache-status.js'
import { notModified } from './conditional.js'
import { currentAge, policyFacts } from './policy-facts.js'
import type { StoredVariant } from './store.js'

/** RFC 9110 §15.4.5: what a 304 carries (Age and Cache-Status are added). */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'etag', 'expires', 'vary']

export interface StoredAnswer {
  readonly key: string
  /** The client sent its own validators. */
  readonly conditional: boolean
  readonly variant: StoredVariant
  /** The Cache-Status value, without ttl. */
  readonly status: string
}

export function sendStored (request: FastifyRequest, reply: FastifyReply, answer: StoredAnswer, compressor: ResponseCompressor | null): void {
  const { variant, status } = answer
  const facts = policyFacts(variant.policy)
  const age = currentAge(facts, Date.now())
  const ttl = facts.maxAge - age
  // RFC 9110 §13.2.1: preconditions only apply to what would be a 2xx answer.
  if (answer.conditional && facts.status >= 200 && facts.status < 300 && notModified(request.headers, facts)) {
    reply.code(304)
    for (const name of NOT_MODIFIED_FIELDS) {
      const value = facts.headers[name]
      if (value !== undefined) reply.header(name, value)
    }
    compressor?.describeNotModified(reply, facts.headers, variant.body.length)
    reply.header('age', Math.round(age))
    reply.header(CACHE_STATUS_HEADER, withTtl(status === CacheStatus.hit ? CacheStatus.notModified : status, ttl))
    reply.send()
    return
  }
  reply.code(facts.status)
  for (const [name, value] of facts.served) reply.header(name, value)
  reply.header('age', Math.round(age))
  reply.header(CACHE_STATUS_HEADER, withTtl(status, ttl))
  if (compressor === null) reply.send(variant.body)
  // A strong ETag names the body across revalidations; without one, the time it was received does.
  else compressor.sendStored(reply, variant.body, `${answer.key}\n${facts.variantId}\n${facts.etag ?? facts.responseTime}\n${variant.body.length}`)
}
