/**
 * The onSend half of RFC 9111 §4.4 for one caching service: once an unsafe request has succeeded, what is
 * stored for its URL, Location and Content-Location (invalidation.ts says which) is deleted before the
 * answer leaves, so the client's next read is never stale. The shared answers go, and the caller's own
 * partition; other callers' partitions keep theirs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalidatedUrls, isUnsafe } from './invalidation.js'
import { cacheKey, requestOrigin, subjectPartition } from './request-view.js'
import { RESPONSE_SEGMENT, type ResponseStore } from './store.js'

type OnSendDone = (error: Error | null, payload: unknown) => void
export type InvalidationHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: OnSendDone) => void

export function invalidateAfterUnsafe (store: ResponseStore, servicePrefix: string, partitionBySubject: boolean): InvalidationHook {
  return function invalidateStoredAnswers (request, reply, payload, done) {
    const status = reply.statusCode
    if (!isUnsafe(request.method) || status < 200 || status >= 400) {
      done(null, payload)
      return
    }
    const partition = subjectPartition(request, partitionBySubject)
    const origin = requestOrigin(request)
    const locations = [headerText(reply.getHeader('location')), headerText(reply.getHeader('content-location'))]
    const keys: string[] = []
    for (const url of invalidatedUrls(request.url, request.headers.host, servicePrefix, locations)) {
      keys.push(cacheKey(url, origin, null))
      if (partition !== null) keys.push(cacheKey(url, origin, partition))
    }
    let pending = keys.length
    for (const key of keys) {
      store.delete({ id: key, segment: RESPONSE_SEGMENT }, (error) => {
        if (error !== null) request.log.warn({ err: error }, 'cache invalidation failed')
        if (--pending === 0) done(null, payload)
      })
    }
  }
}

function headerText (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}
