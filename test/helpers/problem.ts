/**
 * The shape every Gatehouse error answer must have (RFC 9457 problem+json with a stable code and the
 * request id), and the things it must never carry: upstream addresses and stack traces.
 */
import { expect } from 'vitest'

export interface HttpAnswer {
  readonly statusCode: number
  readonly headers: Record<string, unknown>
  readonly body: string
}

// A V8 stack frame ("at fn (file:1:2)", "at file:1:2", "at node:internal/...") raw or JSON-escaped.
const STACK_FRAME = /(^|\n|\\n)\s*at\s|\bat \S+ \(|\bat (file|node):|\.[cm]?[jt]s:\d+:\d+/

/** Asserts `answer` is the `code` problem and leaks none of `secrets` (e.g. the upstream's port). */
export function expectProblem (answer: HttpAnswer, status: number, code: string, secrets: readonly string[] = []): void {
  expect(answer.statusCode).toBe(status)
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
  const requestId = answer.headers['x-request-id']
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
  const problem = JSON.parse(answer.body) as Record<string, unknown>
  expect(problem).toMatchObject({ type: 'about:blank', status, code, requestId })
  expectNoLeak(answer, secrets)
}

/** Neither headers nor body name the upstream or carry a stack trace. */
export function expectNoLeak (answer: HttpAnswer, secrets: readonly string[]): void {
  // Random request ids are hex and digits: take them out so a port number cannot match inside one.
  const requestId = String(answer.headers['x-request-id'] ?? '')
  const redact = (text: string): string => requestId === '' ? text : text.split(requestId).join('<id>')
  const headers = redact(JSON.stringify(answer.headers))
  const body = redact(answer.body)
  for (const text of [headers, body]) {
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toMatch(STACK_FRAME)
    for (const secret of secrets) expect(text).not.toContain(secret)
  }
}
