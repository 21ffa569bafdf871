/**
 * RFC 9457 problem details: the one shape of every error Gatehouse answers.
 * `code` is the stable GATEHOUSE_* code from src/errors.ts; `requestId` ties the answer to the access log.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyReply } from 'fastify'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export interface GatehouseErrorLike {
  readonly code: string
  readonly message: string
  readonly statusCode?: number
}

export interface Problem {
  readonly type: 'about:blank'
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly code: string
  readonly requestId?: string
}

export function problemFor (error: GatehouseErrorLike, requestId?: string): Problem {
  const status = error.statusCode ?? 500
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
    ...(requestId === undefined ? {} : { requestId })
  }
}

export function sendProblem (reply: FastifyReply, error: GatehouseErrorLike): FastifyReply {
  const problem = problemFor(error, reply.request.id)
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem)
}
