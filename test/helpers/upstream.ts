/**
 * Real upstream servers on port 0 that record what reached them: the upstream side of every proxy test.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { closeServer, listenOnLoopback, trackSockets } from './listen.js'

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly bodyBytes: number
}

export type UpstreamHandler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void

export interface TestUpstream {
  readonly url: string
  readonly port: number
  readonly requests: RecordedRequest[]
  readonly server: Server
  /** Sockets currently open to this upstream. */
  openSockets (): number
  close (): Promise<void>
}

/** Default behaviour: answer 200 JSON describing the request. */
export const echoHandler: UpstreamHandler = (request, response, body) => {
  const payload = JSON.stringify({ method: request.method, url: request.url, headers: request.headers, bodyBytes: body.length })
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
  response.end(payload)
}

/**
 * Starts an upstream. With `streamBody`, the handler gets the request before its body is read (for
 * large-body tests) and `body` is empty; otherwise the body is collected first.
 */
export async function startUpstream (handler: UpstreamHandler = echoHandler, options: { streamBody?: boolean } = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = []
  const server = createServer((request, response) => {
    if (options.streamBody) {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, bodyBytes: -1 })
      handler(request, response, Buffer.alloc(0))
      return
    }
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, bodyBytes: body.length })
      handler(request, response, body)
    })
  })
  const sockets = trackSockets(server)
  const port = await listenOnLoopback(server)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    server,
    openSockets: () => sockets.size,
    close: () => closeServer(server, sockets)
  }
}
