/**
 * Whether a response may be compressed at all, read from the headers it already carries (design.md §4:
 * @fastify/compress ignores its threshold for streams, so the decision is ours). The length is checked by
 * the caller, from the upstream's Content-Length or the stored body. Never transformed:
 * - 204, 304 (no content) and 206 / Content-Range: a range is a slice of the identity bytes;
 * - a body that already has a content coding other than identity;
 * - a type that does not shrink, or that is read as it arrives (text/event-stream), or no type at all
 *   (unknown bytes);
 * - `Cache-Control: no-transform` (RFC 9110 §7.7, RFC 9111 §5.2.2.6);
 * - a body with an integrity field (Content-Digest, Repr-Digest: RFC 9530; Content-MD5): it would no longer
 *   match the bytes sent.
 */
import type { FastifyReply } from 'fastify'

/**
 * text/* except event streams; JSON, XML and JavaScript under application/; any +json or +xml suffix
 * (problem+json, ld+json, image/svg+xml, application/xhtml+xml...). Parameters (charset) may follow.
 */
export const COMPRESSIBLE_TYPE = /^(?:text\/(?!event-stream\b)|application\/(?:json|xml|javascript|x-javascript|ecmascript)\s*(?:;|$)|[\w.!#$&^-]+\/[^;\s]*\+(?:json|xml)\s*(?:;|$))/i

const NO_TRANSFORM = /(?:^|[\s,])no-transform\s*(?:,|$)/i

type HeaderValue = string | number | string[] | undefined

export function isCompressibleType (contentType: HeaderValue): boolean {
  return typeof contentType === 'string' && COMPRESSIBLE_TYPE.test(contentType)
}

/** Where the headers are read from: a reply, or a stored response's fields. */
export interface HeaderSource {
  getHeader: (name: string) => HeaderValue
}

/** Everything but the length: the checks that read headers, cheapest first. */
export function isTransformable (reply: FastifyReply): boolean {
  return isTransformableAs(reply.statusCode, reply)
}

export function isTransformableAs (status: number, source: HeaderSource): boolean {
  if (status === 204 || status === 206 || status === 304) return false
  const encoding = source.getHeader('content-encoding')
  if (encoding !== undefined && String(encoding).toLowerCase() !== 'identity') return false
  if (source.getHeader('content-range') !== undefined) return false
  if (!isCompressibleType(source.getHeader('content-type'))) return false
  if (forbidsTransform(source.getHeader('cache-control'))) return false
  return source.getHeader('content-digest') === undefined && source.getHeader('repr-digest') === undefined &&
    source.getHeader('content-md5') === undefined
}

function forbidsTransform (cacheControl: HeaderValue): boolean {
  if (cacheControl === undefined) return false
  return NO_TRANSFORM.test(Array.isArray(cacheControl) ? cacheControl.join(',') : String(cacheControl))
}
