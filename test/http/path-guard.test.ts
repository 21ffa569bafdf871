import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isUnsafePath } from '../../src/http/path-guard.js'
import type { RunningGateway } from '../../src/server.js'
import { sendRequest } from '../helpers/client.js'
import { listeningGatewayFor, oneService } from '../helpers/gateway.js'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

// Each of these could name a different resource upstream than the one our router matched.
const UNSAFE_PATHS: ReadonlyArray<[path: string, why: string]> = [
  ['/users/../admin', 'a ".." segment in the middle'],
  ['/users/./x', 'a "." segment'],
  ['/users/..', 'a ".." segment at the end'],
  ['/..', 'a ".." segment at the root'],
  ['/users/%2e%2e/admin', 'an encoded ".." segment'],
  ['/users/%2E%2e/x', 'an encoded ".." segment in mixed case'],
  ['/users/%2fadmin', 'an encoded "/"'],
  ['/users/%2F', 'an encoded "/" in upper case'],
  ['/users/%5c', 'an encoded "\\"'],
  ['/users\\admin', 'a raw backslash'],
  ['/users/.%2e/x', 'a half-encoded ".." segment'],
  ['/users/..;/admin', 'a ".." segment with a path parameter (Tomcat, Spring)'],
  ['/users/.;x/y', 'a "." segment with a path parameter'],
  ['/users/%252e%252e/admin', 'a ".." segment encoded twice'],
  ['/users/%252F', 'a "/" encoded twice'],
  ['/users/a%00b', 'an encoded NUL']
]

// [path, why, what the users upstream receives with the default rewritePrefix "/"]
const SAFE_PATHS: ReadonlyArray<[path: string, why: string, upstreamUrl: string]> = [
  ['/users/a..b', 'dots inside a segment', '/a..b'],
  ['/users/.hidden', 'a segment that starts with a dot', '/.hidden'],
  ['/users/..x', 'a segment that starts with two dots', '/..x'],
  ['/users/x.', 'a segment that ends with a dot', '/x.'],
  ['/users/file.json', 'a file extension', '/file.json'],
  ['/users?next=/../x', 'dot-segments in the query string only', '/?next=/../x'],
  ['/users/%41', 'an encoded letter', '/%41'],
  ['/users/100%25', 'an encoded percent sign', '/100%25'],
  ['/users/a;b', 'a path parameter', '/a;b']
]

describe('isUnsafePath', () => {
  it.each(UNSAFE_PATHS)('refuses %s (%s)', (path) => {
    expect(isUnsafePath(path)).toBe(true)
  })

  it.each(SAFE_PATHS)('accepts %s (%s)', (path) => {
    expect(isUnsafePath(path)).toBe(false)
  })
})

describe('the path guard in front of the services', () => {
  let upstream: TestUpstream
  let gateway: RunningGateway

  beforeAll(async () => {
    upstream = await startUpstream()
    gateway = await listeningGatewayFor(oneService([upstream.url]))
  })

  afterAll(async () => {
    await gateway.close()
    await upstream.close()
  })

  it.each(UNSAFE_PATHS)('answers %s with a 400 GATEHOUSE_BAD_PATH problem and never calls the upstream', async (path) => {
    const before = upstream.requests.length
    const response = await sendRequest(gateway.url, { path })
    expect(response.status).toBe(400)
    expect(response.headers['content-type']).toContain('application/problem+json')
    expect(response.json()).toMatchObject({ status: 400, code: 'GATEHOUSE_BAD_PATH', requestId: response.headers['x-request-id'] })
    expect(upstream.requests.length).toBe(before)
  })

  // Includes /users/..x, which @fastify/reply-from's buildURL refused (any decoded "/..", not only a `..`
  // segment); the gateway's own upstream call (src/proxy/forward.ts) does not go through it.
  it.each(SAFE_PATHS)('proxies %s (%s) to the upstream as %s', async (path, _why, upstreamUrl) => {
    const response = await sendRequest(gateway.url, { path })
    expect(response.status).toBe(200)
    expect(upstream.requests.at(-1)?.url).toBe(upstreamUrl)
  })
})
