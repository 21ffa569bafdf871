import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Pool, request } from 'undici'
import type { RunningGateway } from '../../src/server.js'
import { gatewayFor, listeningGatewayFor, oneService } from '../helpers/gateway.js'
import {
  answerGarbage,
  closedPort,
  closeOnConnect,
  neverAnswer,
  resetOnConnect,
  startRawUpstream,
  type ConnectionBehaviour,
  type RawUpstream
} from '../helpers/misbehaving-upstream.js'
import { expectProblem } from '../helpers/problem.js'
import { echoHandler, startUpstream, type TestUpstream } from '../helpers/upstream.js'

const HAMMER_CLIENTS = 50
const HAMMER_MS = 10_000

let app: FastifyInstance | undefined
let gateway: RunningGateway | undefined
let raw: RawUpstream | undefined
let upstream: TestUpstream | undefined

afterEach(async () => {
  await app?.close()
  await gateway?.close()
  await raw?.close()
  await upstream?.close()
  app = gateway = raw = upstream = undefined
})

async function gatewayInFrontOf (behaviour: ConnectionBehaviour, extra: Record<string, unknown> = {}): Promise<FastifyInstance> {
  raw = await startRawUpstream(behaviour)
  app = await gatewayFor(oneService([raw.url], extra))
  return app
}

describe('an upstream that cannot be reached', () => {
  it('answers 502 GATEHOUSE_UPSTREAM_UNREACHABLE when the connection is refused', async () => {
    const port = await closedPort()
    app = await gatewayFor(oneService([`http://127.0.0.1:${port}`]))
    const response = await app.inject({ method: 'GET', url: '/users/1' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_UNREACHABLE', [String(port)])
  })
})

describe('an upstream that drops the connection before any byte', () => {
  it.each([
    ['closes it (FIN)', closeOnConnect],
    ['resets it (RST)', resetOnConnect]
  ])('answers 502 GATEHOUSE_UPSTREAM_RESET, every time, when it %s', async (_how, behaviour) => {
    const gatewayApp = await gatewayInFrontOf(behaviour)
    const codes = new Set<unknown>()
    for (let i = 0; i < 5; i++) {
      const response = await gatewayApp.inject({ method: 'GET', url: `/users/${i}` })
      expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(raw?.port)])
      codes.add(response.json<{ code: string }>().code)
    }
    expect([...codes]).toEqual(['GATEHOUSE_UPSTREAM_RESET'])
  })
})

describe('an upstream that does not speak HTTP', () => {
  it('answers 502 GATEHOUSE_UPSTREAM_BAD_RESPONSE', async () => {
    const gatewayApp = await gatewayInFrontOf(answerGarbage)
    const response = await gatewayApp.inject({ method: 'GET', url: '/users/1' })
    expectProblem(response, 502, 'GATEHOUSE_UPSTREAM_BAD_RESPONSE', [String(raw?.port), 'SSH-2.0'])
  })
})

describe('an upstream that never sends its response headers', () => {
  it('answers 504 GATEHOUSE_UPSTREAM_TIMEOUT after timeouts.responseHeaders', async () => {
    const gatewayApp = await gatewayInFrontOf(neverAnswer, { timeouts: { responseHeaders: 300 } })
    const started = performance.now()
    const response = await gatewayApp.inject({ method: 'GET', url: '/users/1' })
    expectProblem(response, 504, 'GATEHOUSE_UPSTREAM_TIMEOUT', [String(raw?.port)])
    expect(performance.now() - started).toBeGreaterThanOrEqual(250)
  })
})

describe('an upstream whose body stalls after the headers', () => {
  // Up to 64 KiB the body is collected before anything is sent (src/proxy/whole-body.ts), so the client
  // still gets an answer; a longer one streams and can only be cut.
  it.each([
    ['a body sent whole: 504 GATEHOUSE_UPSTREAM_TIMEOUT', 20],
    ['a streamed body: the client connection is cut', 100_000]
  ])('%s after timeouts.idle, and the next request is served', async (_label, declared) => {
    let stalled: ServerResponse | undefined
    upstream = await startUpstream((request, response, body) => {
      if (request.url !== '/stall') return echoHandler(request, response, body)
      stalled = response
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': declared })
      response.write('0123456789')
    })
    gateway = await listeningGatewayFor(oneService([upstream.url], { timeouts: { idle: 300 } }))

    const answer = await request(`${gateway.url}/users/stall`)
    if (declared === 20) {
      expectProblem({ statusCode: answer.statusCode, headers: answer.headers, body: await answer.body.text() }, 504, 'GATEHOUSE_UPSTREAM_TIMEOUT', [String(upstream.port)])
    } else {
      expect(answer.statusCode).toBe(200)
      await expect(answer.body.text()).rejects.toThrow()
    }
    // The upstream side of the stalled exchange is released too, not left open.
    expect(stalled).toBeDefined()
    if (stalled && !stalled.closed) await once(stalled, 'close', { signal: AbortSignal.timeout(3_000) })

    const next = await request(`${gateway.url}/users/after`)
    expect(next.statusCode).toBe(200)
    expect(await next.body.json()).toMatchObject({ url: '/after' })
  })
})

describe('the client connection after an upstream fault', () => {
  it('stays open for the next request when the request had no body to drain', async () => {
    const port = await closedPort()
    gateway = await listeningGatewayFor(oneService([`http://127.0.0.1:${port}`]))
    const client = new Pool(gateway.url, { connections: 1 })
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await client.request({ method: 'GET', path: `/users/${i}` })
        await answer.body.text()
        // The first request finds the upstream refusing; the next ones are answered 503 while it is down.
        expect(answer.statusCode).toBe(i === 0 ? 502 : 503)
        // A refused upstream is no reason to make the client reconnect (a storm of 502s would become a
        // storm of TCP handshakes and TIME_WAIT sockets on the gateway).
        expect(answer.headers.connection).not.toBe('close')
      }
    } finally {
      await client.close()
    }
  })
})

describe('a service with no upstreams', () => {
  it('answers 503 GATEHOUSE_NO_UPSTREAM', async () => {
    app = await gatewayFor(oneService([]))
    for (const url of ['/users', '/users/1?x=1']) {
      const response = await app.inject({ method: 'POST', url, payload: { a: 1 } })
      expectProblem(response, 503, 'GATEHOUSE_NO_UPSTREAM')
    }
  })
})

describe('a dead upstream under load', () => {
  it(`answers ${HAMMER_CLIENTS} concurrent clients with 502/503 problems for ${HAMMER_MS / 1000} s and stays up`, async () => {
    const rejections: unknown[] = []
    const onRejection = (reason: unknown): void => { rejections.push(reason) }
    process.on('unhandledRejection', onRejection)
    const port = await closedPort()
    gateway = await listeningGatewayFor(oneService([`http://127.0.0.1:${port}`]))
    const clients = new Pool(gateway.url, { connections: HAMMER_CLIENTS })
    const statuses = new Map<string, number>()
    const tally = (key: string): void => { statuses.set(key, (statuses.get(key) ?? 0) + 1) }
    try {
      const deadline = performance.now() + HAMMER_MS
      await Promise.all(Array.from({ length: HAMMER_CLIENTS }, async (_, client) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const answer = await clients.request({ method: 'GET', path: `/users/${client}/${i}` })
          const problem = await answer.body.json() as { code?: string }
          tally(`${answer.statusCode} ${String(answer.headers['content-type'])} ${problem.code}`)
        }
      }))
      // Still alive and still answering the same way.
      const after = await request(`${gateway.url}/users/after`)
      expectProblem({ ...after, body: await after.body.text() }, after.statusCode === 502 ? 502 : 503,
        after.statusCode === 502 ? 'GATEHOUSE_UPSTREAM_UNREACHABLE' : 'GATEHOUSE_NO_UPSTREAM', [String(port)])
    } finally {
      await clients.close()
      process.off('unhandledRejection', onRejection)
    }
    // A refused connection marks the upstream down: 502 for the requests that found it refusing (one per
    // cooldown, and those in flight at the time), 503 without trying for the rest.
    const unreachable = '502 application/problem+json; charset=utf-8 GATEHOUSE_UPSTREAM_UNREACHABLE'
    const allDown = '503 application/problem+json; charset=utf-8 GATEHOUSE_NO_UPSTREAM'
    expect([...statuses.keys()].sort()).toEqual([unreachable, allDown])
    expect(statuses.get(allDown)).toBeGreaterThan(statuses.get(unreachable) ?? 0)
    expect(rejections).toEqual([])
  })
})

/** Answers every request with these raw bytes, written in `chunks` `intervalMs` apart, then leaves the socket open. */
function rawAnswer (chunks: readonly string[], intervalMs = 0, then: 'keep' | 'reset' = 'keep'): ConnectionBehaviour {
  return (socket) => {
    socket.once('data', () => {
      let index = 0
      const next = (): void => {
        if (socket.destroyed) return
        if (index < chunks.length) {
          socket.write(chunks[index++] as string)
          setTimeout(next, intervalMs)
        } else if (then === 'reset') {
          socket.resetAndDestroy()
        }
      }
      next()
    })
  }
}

describe('more broken upstreams (issue 5)', () => {
  it('a reset in the middle of a body sent whole is 502 GATEHOUSE_UPSTREAM_RESET, and the gateway keeps serving', async () => {
    raw = await startRawUpstream(rawAnswer(['HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n', '0123456789'], 20, 'reset'))
    gateway = await listeningGatewayFor(oneService([raw.url]))
    const answer = await request(`${gateway.url}/users/1`)
    expectProblem({ statusCode: answer.statusCode, headers: answer.headers, body: await answer.body.text() }, 502, 'GATEHOUSE_UPSTREAM_RESET', [String(raw.port)])
    const alive = await request(`${gateway.url}/_gatehouse/healthz`)
    expect(alive.statusCode).toBe(200)
    await alive.body.dump()
  })

  it('a reset in the middle of a streamed body cuts the client connection cleanly, and the gateway keeps serving', async () => {
    raw = await startRawUpstream(rawAnswer(['HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000\r\n\r\n', '0123456789'], 20, 'reset'))
    gateway = await listeningGatewayFor(oneService([raw.url]))
    const cut = await request(`${gateway.url}/users/1`)
    expect(cut.statusCode).toBe(200)
    await expect(cut.body.text()).rejects.toThrow()
    const alive = await request(`${gateway.url}/_gatehouse/healthz`)
    expect(alive.statusCode).toBe(200)
    await alive.body.dump()
  })

  it('headers trickling in one byte at a time end in 504 once timeouts.responseHeaders is over', async () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok'
    const gatewayApp = await gatewayInFrontOf(rawAnswer([...head], 100), { timeouts: { responseHeaders: 400 } })
    const started = Date.now()
    expectProblem(await gatewayApp.inject('/users/1'), 504, 'GATEHOUSE_UPSTREAM_TIMEOUT', [String(raw?.port)])
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('response headers larger than undici accepts end in 502', async () => {
    const huge = `x-huge: ${'a'.repeat(64 * 1024)}\r\n`
    const gatewayApp = await gatewayInFrontOf(rawAnswer([`HTTP/1.1 200 OK\r\n${huge}content-length: 2\r\n\r\nok`]))
    expectProblem(await gatewayApp.inject('/users/1'), 502, 'GATEHOUSE_UPSTREAM_BAD_RESPONSE', [String(raw?.port)])
  })

  it('conflicting Content-Length and Transfer-Encoding end in 502 (request smuggling is not passed on)', async () => {
    const gatewayApp = await gatewayInFrontOf(rawAnswer(['HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']))
    expectProblem(await gatewayApp.inject('/users/1'), 502, 'GATEHOUSE_UPSTREAM_BAD_RESPONSE', [String(raw?.port)])
  })
})

describe('an upstream whose connect never completes', () => {
  // A listening socket with a full accept queue drops further SYNs: the connection attempt just hangs, as
  // for a firewalled host. Node always accepts, so a python3 child holds such a socket (skipped without it).
  const python = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0
  if (!python) console.warn('\n!!! SKIPPING the connect-timeout fault test: python3 is not installed\n')

  it.skipIf(!python)('answers 504 GATEHOUSE_UPSTREAM_TIMEOUT after timeouts.connect, and marks the replica down', async () => {
    const holder = spawn('python3', ['-c', [
      'import socket, sys, time',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
      'filler = socket.create_connection(s.getsockname())',
      'print(s.getsockname()[1], flush=True)',
      'time.sleep(60)'
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const [line] = await once(holder.stdout, 'data') as [Buffer]
      const port = Number(line.toString().trim())
      app = await gatewayFor(oneService([`http://127.0.0.1:${port}`], { timeouts: { connect: 300 } }))
      const started = Date.now()
      expectProblem(await app.inject('/users/1'), 504, 'GATEHOUSE_UPSTREAM_TIMEOUT', [String(port)])
      expect(Date.now() - started).toBeLessThan(2_000)
      // The replica is out for its cooldown: the next request is answered at once.
      const next = await app.inject('/users/2')
      expect(next.statusCode).toBe(503)
      expect(next.json()).toMatchObject({ code: 'GATEHOUSE_NO_UPSTREAM' })
    } finally {
      holder.kill('SIGKILL')
    }
  })
})
