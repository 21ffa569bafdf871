/**
 * The admin purge endpoint (issue 4): `POST <adminPrefix>/cache/purge` with `Authorization: Bearer
 * <gateway.cache.purgeToken>` and one of `?url=/users/42`, `?prefix=/users` or `?tag=catalog` (a tag
 * from the upstream's Cache-Tag or Surrogate-Key). Answers `{ "purged": <resources removed> }`. On the
 * Redis store a purge reaches every gateway process; on the memory store only this one.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AdminTokenInvalidError, PurgeTargetError } from '../errors.js'
import { sendProblem } from '../http/problem.js'
import { urlKeyPrefix } from './request-view.js'
import { RESPONSE_SEGMENT, type ResponseStore } from './store.js'

type PurgeQuery = Partial<Record<'url' | 'prefix' | 'tag', string | string[]>>

export function purgeHandler (store: ResponseStore, token: string) {
  const expected = digest(token)
  return async function purge (request: FastifyRequest<{ Querystring: PurgeQuery }>, reply: FastifyReply): Promise<FastifyReply> {
    // Compared as digests: equal length, constant time, whatever the client sent.
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      reply.header('www-authenticate', 'Bearer')
      return sendProblem(reply, new AdminTokenInvalidError())
    }
    const { url, prefix, tag } = request.query
    const named = [url, prefix, tag].filter((value) => value !== undefined)
    if (named.length !== 1 || named.some((value) => typeof value !== 'string' || value === '')) {
      return sendProblem(reply, new PurgeTargetError())
    }
    if (typeof url === 'string') {
      if (!url.startsWith('/')) return sendProblem(reply, new PurgeTargetError())
      // The URL under every origin it was requested with, and every caller's partition of it.
      return reply.send({ purged: await store.purgePrefix(`${RESPONSE_SEGMENT}:${urlKeyPrefix(url)}`) })
    }
    if (typeof prefix === 'string') {
      if (!prefix.startsWith('/')) return sendProblem(reply, new PurgeTargetError())
      return reply.send({ purged: await store.purgePrefix(`${RESPONSE_SEGMENT}:${prefix}`) })
    }
    return reply.send({ purged: await store.purgeTag(tag as string) })
  }
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
