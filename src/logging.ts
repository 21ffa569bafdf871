import type { FastifyServerOptions } from 'fastify'
import pino from 'pino'

/**
 * JSON logs for machines; pino-pretty when a person watches the terminal (issue 2).
 * JSON goes to stdout through an asynchronous pino destination: under load, lines that arrive while a
 * write is in flight are written together, instead of one blocking write(2) per access-log line on the
 * request path. pino flushes it synchronously when the process exits.
 */
export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  if (process.stdout.isTTY) {
    return { level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
  }
  return { level, stream: pino.destination({ dest: 1, sync: false }) }
}
