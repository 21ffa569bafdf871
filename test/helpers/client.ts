/**
 * Clients for listening gateways that send what a test says byte for byte: `sendRequest` keeps the path
 * literal (`fetch` and `inject` normalise `/a/../b`), `receiveOnce` also reports a response that was cut
 * off, `sendRawHead` writes raw bytes on a socket.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { connect } from 'node:net'

export interface ClientResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  json<T = Record<string, unknown>> (): T
}

export interface ClientRequest {
  readonly method?: string
  /** Sent as is, never normalised. */
  readonly path: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer
}

/** One request on a fresh connection (no agent), the whole response read as text. */
export async function sendRequest (baseUrl: string, { method = 'GET', path, headers = {}, body }: ClientRequest): Promise<ClientResponse> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, json: () => JSON.parse(text) })
      })
    })
    request.on('error', reject)
    request.end(body)
  })
}

export interface ReceivedResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The response ended normally (not cut off). */
  readonly complete: boolean
}

/**
 * One request on a fresh connection; resolves with what arrived, complete or cut off, or with the error
 * that ended the exchange before a response. `onFirstChunk` sees the first body bytes as they arrive.
 */
export async function receiveOnce (baseUrl: string, path: string, headers: OutgoingHttpHeaders, { method = 'GET', onFirstChunk }: { method?: string, onFirstChunk?: (chunk: Buffer) => void } = {}): Promise<ReceivedResponse | Error> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve) => {
    const request = httpRequest({ host: hostname, port, method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) onFirstChunk?.(chunk)
        chunks.push(chunk)
      })
      response.on('error', (error) => { resolve(error) })
      response.on('close', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), complete: response.complete })
      })
    })
    request.on('error', (error) => { resolve(error) })
    request.end()
  })
}

export interface RawResponse {
  readonly statusLine: string
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * Writes `bytes` on a new socket and reads until the server closes it. The socket is not half-closed:
 * Node's server aborts a request whose client ended its side, so send `Connection: close` instead.
 */
export async function sendRawHead (baseUrl: string, bytes: string): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl)
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(bytes))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
  return parseRawResponse(text)
}

function parseRawResponse (text: string): RawResponse {
  const headEnd = text.indexOf('\r\n\r\n')
  const head = headEnd === -1 ? text : text.slice(0, headEnd)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { statusLine, headers, body: headEnd === -1 ? '' : text.slice(headEnd + 4) }
}
