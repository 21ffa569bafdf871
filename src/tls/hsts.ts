/**
 * Strict-Transport-Security on every response sent over TLS (RFC 6797 §7.2: never over plain HTTP, where
 * browsers ignore it anyway). Set in onSend so it also covers proxied responses, and so the gateway's
 * value replaces an upstream's.
 */
import type { TLSSocket } from 'node:tls'
import type { onSendHookHandler } from 'fastify'

export function strictTransportSecurity (value: string): onSendHookHandler {
  return function addStrictTransportSecurity (request, reply, payload, done) {
    if ((request.raw.socket as TLSSocket | undefined)?.encrypted === true) reply.header('strict-transport-security', value)
    done(null, payload)
  }
}
