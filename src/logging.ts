import type { FastifyServerOptions } from 'fastify'

/** JSON logs for machines; pino-pretty when a person watches the terminal (issue 2). */
export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return process.stdout.isTTY
    ? { level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
    : { level }
}
