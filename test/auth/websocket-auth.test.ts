/** WebSocket upgrades pass the same auth as plain requests (design.md §4: @fastify/http-proxy's WS support is "partial"). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningGateway } from '../../src/server.js'
import { listeningGatewayFor } from '../helpers/gateway.js'
import { hsToken } from '../helpers/jwt.js'
import { handshake } from '../helpers/ws-client.js'
import { startWebSocketUpstream, type WebSocketUpstream } from '../helpers/ws-upstream.js'
import { HS_KEYS } from './auth-gateway.js'

describe('WebSocket upgrades to a service with auth', () => {
  let upstream: WebSocketUpstream
  let gateway: RunningGateway
  let wsUrl: string

  beforeAll(async () => {
    upstream = await startWebSocketUpstream()
    gateway = await listeningGatewayFor({
      gateway: { auth: HS_KEYS },
      services: [{ name: 'chat', prefix: '/chat', upstreams: [upstream.url], websocket: true, auth: { scopes: ['chat'] } }]
    })
    wsUrl = `${gateway.url.replace(/^http/, 'ws')}/chat/room`
  })

  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })

  it('refuse an upgrade without a token, or with too few scopes, before the upstream sees it', async () => {
    expect(await handshake(wsUrl, {})).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="gatehouse"' } })
    expect(await handshake(wsUrl, { authorization: `Bearer ${await hsToken({ scope: 'other' })}` })).toMatchObject({ status: 403 })
    expect(await handshake(wsUrl, { authorization: 'Bearer not.a.token' })).toMatchObject({ status: 401 })
    expect(upstream.handshakes).toHaveLength(0)
  })

  it('upgrade with a valid token, handing the upstream the identity and not the token or a forged identity', async () => {
    const next = upstream.nextHandshake()
    const outcome = await handshake(wsUrl, { authorization: `Bearer ${await hsToken({ sub: 'frank', scope: 'chat' })}`, 'x-user-id': 'admin' })
    expect(outcome.status).toBe(101)
    const { headers } = await next
    expect(headers['x-user-id']).toBe('frank')
    expect(headers['x-user-scopes']).toBe('chat')
    expect(headers.authorization).toBeUndefined()
  })
})
