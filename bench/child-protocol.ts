/**
 * The one-line handshake between the bench runner and its child servers: a child announces the URL it
 * listens on as `BENCH_URL {"url": "http://127.0.0.1:PORT"}` on stderr. Stdout is left to the servers'
 * own logging (Fastify's request log, Gatehouse's access log), which the runner discards.
 */

export const URL_PREFIX = 'BENCH_URL '

/** Writes the handshake line to stderr. */
export function announceUrl (url: string): void {
  process.stderr.write(`${URL_PREFIX}${JSON.stringify({ url })}\n`)
}

/** The URL in a handshake line, or undefined for any other line. */
export function parseUrlLine (line: string): string | undefined {
  if (!line.startsWith(URL_PREFIX)) return undefined
  let value: unknown
  try {
    value = JSON.parse(line.slice(URL_PREFIX.length))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const url: unknown = (value as { url?: unknown }).url
  return typeof url === 'string' ? url : undefined
}

/** The upstream the proxies forward to, set by the runner. */
export function requireBackendUrl (): string {
  const url = process.env.BACKEND_URL
  if (url === undefined || url === '') throw new Error('BACKEND_URL is not set: run this file through `npm run bench`')
  return url
}
