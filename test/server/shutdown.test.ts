import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { startWebSocketUpstream, type WebSocketUpstream } from '../helpers/ws-upstream.js'

describe('shutdown with an open WebSocket', () => {
  let upstream: WebSocketUpstream | undefined
  let gateway: RunningGateway | undefined
  let client: WebSocket | undefined

  afterEach(async () => {
    client?.terminate()
    await gateway?.close()
    await upstream?.close()
  })

  it('ends at the drain timeout even when the client never answers the close handshake', async () => {
    upstream = await startWebSocketUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url], { websocket: true }, { timeouts: { drain: 300 } }))
    client = new WebSocket(`${gateway.url.replace('http', 'ws')}/users/live`)
    await once(client, 'open')
    // A client that stops reading never sees the close frame, so it never answers it.
    const socket = (client as unknown as { _socket: { pause (): void } })._socket
    socket.pause()
    const started = Date.now()
    await gateway.close()
    // ws alone would wait 30 s for the close handshake.
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
