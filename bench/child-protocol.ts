/**
 * The one-line handshake between the bench runner and its child servers: a child announces the URL it
 * listens on as `{"url": "http://127.0.0.1:PORT"}`. The gateway writes pino access logs to stdout, so it
 * announces on stderr behind GATEHOUSE_URL_PREFIX instead.
 */

export const GATEHOUSE_URL_PREFIX = 'GATEHOUSE_URL '

/** Writes the handshake line to stdout (backend, baseline). */
export function announceUrl (url: string): void {
  process.stdout.write(`${JSON.stringify({ url })}\n`)
}

/** Writes the prefixed handshake line to stderr (gateway). */
export function announceGatehouseUrl (url: string): void {
  process.stderr.write(`${GATEHOUSE_URL_PREFIX}${JSON.stringify({ url })}\n`)
}

/** The URL in a handshake line, or undefined for any other line (a pino log line has `level`). */
export function parseUrlLine (line: string): string | undefined {
  const text = line.trim()
  if (!text.startsWith('{')) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || 'level' in value) return undefined
  const url: unknown = (value as { url?: unknown }).url
  return typeof url === 'string' ? url : undefined
}

/** The URL in a GATEHOUSE_URL_PREFIX line, or undefined. */
export function parseGatehouseUrlLine (line: string): string | undefined {
  return line.startsWith(GATEHOUSE_URL_PREFIX) ? parseUrlLine(line.slice(GATEHOUSE_URL_PREFIX.length)) : undefined
}

/** The upstream the proxies forward to, set by the runner. */
export function requireBackendUrl (): string {
  const url = process.env.BACKEND_URL
  if (url === undefined || url === '') throw new Error('BACKEND_URL is not set: run this file through `npm run bench`')
  return url
}
