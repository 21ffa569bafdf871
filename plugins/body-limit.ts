/**
 * Per-service request body limit (413): a declared Content-Length is checked before anything else runs,
 * a chunked body is counted on the stream. Bodies are never buffered. Registered inside a service scope.
 */
import fp from 'fastify-plugin'
import { pipeline, type Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BodyTooLargeError } from '../src/errors.js'
import { BodyLimitStream } from '../src/http/body-limit-stream.js'

export interface BodyLimitOptions {
  readonly limit: number
}

async function bodyLimit (scope: FastifyInstance, { limit }: BodyLimitOptions): Promise<void> {
  scope.addHook('onRequest', function checkDeclaredLength (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
    const declared = request.headers['content-length']
    if (declared !== undefined && Number(declared) > limit) {
      // The client is still sending: answer now and close instead of reading the rest.
      reply.header('connection', 'close')
      done(new BodyTooLargeError(limit))
      return
    }
    done()
  })
  scope.addHook('preParsing', function countStreamedBody (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (error: Error | null, payload?: Readable) => void) {
    // Node's parser already stops a body at its declared length; only chunked bodies need counting. A GET or
    // HEAD body is never forwarded (Fastify ignores it): counting it would stall the unread stream.
    if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] === undefined ||
      request.method === 'GET' || request.method === 'HEAD') {
      done(null, payload)
      return
    }
    // pipeline, not pipe: a client that aborts mid-body must abort the upstream request too.
    done(null, pipeline(payload, new BodyLimitStream(limit), ignoreStreamError))
  })
}

export default fp(bodyLimit, { name: 'gatehouse-body-limit', fastify: '5.x' })

// The error reaches the proxy through the stream it reads; nothing more to do here.
function ignoreStreamError (): void {}
