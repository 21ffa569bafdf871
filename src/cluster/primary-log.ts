/**
 * The primary's own log: the same JSON lines (pretty in a terminal) as the workers' gateway logs, on the
 * same stdout, tagged `role: "primary"`. Written synchronously: the primary logs a few lines per worker,
 * and a line must be out before the worker it announces (or the primary) can die.
 */
import pino, { type Logger } from 'pino'

export type PrimaryLogger = Logger

export function primaryLogger (level: string): PrimaryLogger {
  const logger = process.stdout.isTTY
    ? pino({ level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } })
    : pino({ level }, pino.destination({ dest: 1, sync: true }))
  return logger.child({ role: 'primary' })
}
