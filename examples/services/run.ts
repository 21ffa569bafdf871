/**
 * Start-up shared by the demo services: listen on PORT/HOST only when the file is the process entry point,
 * so tests import the build functions without opening a socket.
 */
import { pathToFileURL } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { ServiceOptions } from './service.js'

export function isEntryPoint (moduleUrl: string): boolean {
  const entry = process.argv[1]
  return entry !== undefined && moduleUrl === pathToFileURL(entry).href
}

export async function listenWhenMain (
  moduleUrl: string,
  build: (options: ServiceOptions) => FastifyInstance,
  defaultPort: number
): Promise<void> {
  if (!isEntryPoint(moduleUrl)) return
  const app = build({ logger: { level: process.env.LOG_LEVEL || 'info' } })
  // As PID 1 in a container Node gets no default SIGTERM action: close on purpose so `docker stop` is quick.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.close().catch((error: unknown) => {
        app.log.error({ err: error }, 'close failed')
        process.exitCode = 1
      })
    })
  }
  await app.listen({ port: portFrom(process.env.PORT, defaultPort), host: process.env.HOST || '127.0.0.1' })
}

function portFrom (value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got "${value}"`)
  }
  return port
}
