/**
 * Root error and not-found handlers: every failure leaves as problem+json with a GATEHOUSE_* code.
 * Client mistakes keep their 4xx; anything unexpected is logged and answered with a generic 500 that
 * carries no stack, no library message and no upstream address.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadPathError, BadRequestError, BodyTooLargeError, InternalError, NotFoundError } from '../errors.js'
import { sendProblem, type GatehouseErrorLike } from './problem.js'

// Fastify's own client-error codes that have a more precise Gatehouse code.
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, (request: FastifyRequest) => GatehouseErrorLike>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (request) => new BodyTooLargeError(request.routeOptions.bodyLimit),
  FST_ERR_BAD_URL: () => new BadPathError()
}

export function installErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler(handleError)
  app.setNotFoundHandler(handleNotFound)
}

function handleError (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, toGatehouseError(error, request))
}

function handleNotFound (_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, new NotFoundError())
}

export function toGatehouseError (error: FastifyError, request: FastifyRequest): GatehouseErrorLike {
  if (typeof error.code === 'string' && error.code.startsWith('GATEHOUSE_')) return error
  const known = typeof error.code === 'string' ? FASTIFY_CLIENT_ERRORS[error.code] : undefined
  if (known) return known(request)
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // @fastify/http-proxy rejects a destination that escapes the prefix with a bare 400.
    if (error.message === 'source/request contain invalid characters') return new BadPathError()
    // A 4xx from a plugin (a team's, or Fastify's): keep its status, describe it by the status' name.
    const badRequest = new BadRequestError()
    return { code: badRequest.code, message: status === 400 ? badRequest.message : STATUS_CODES[status] ?? badRequest.message, statusCode: status }
  }
  request.log.error({ err: error }, 'unhandled error')
  return new InternalError()
}

/** For Fastify's `frameworkErrors` option: malformed URLs and the like, before any route runs. */
export function handleFrameworkError (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, toGatehouseError(error, request))
}
