/**
 * An upstream for cache tests: each path answers what the test scripted (status, headers, body, delay)
 * and every request it receives is recorded, so a test can count what reached it.
 */
import type { OutgoingHttpHeaders } from 'node:http'
import { startUpstream, type TestUpstream } from '../helpers/upstream.js'

export interface ScriptedAnswer {
  readonly status?: number
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer
  /** Milliseconds before the answer starts. */
  readonly delay?: number
  /** Close the connection right after writing `body`, whatever the headers promised. */
  readonly cut?: boolean
}

export type Script = (request: { method: string, url: string, headers: Record<string, string | string[] | undefined>, hits: number }) => ScriptedAnswer

export interface ScriptedUpstream extends TestUpstream {
  /** Sets what `path` answers from now on (the function sees how many requests the path had). */
  script: (path: string, answer: ScriptedAnswer | Script) => void
  /** Requests that reached `path`. */
  hits: (path: string) => number
}

export async function startScriptedUpstream (): Promise<ScriptedUpstream> {
  const scripts = new Map<string, Script>()
  const counts = new Map<string, number>()
  const upstream = await startUpstream((request, response) => {
    const url = request.url ?? '/'
    const hits = (counts.get(url) ?? 0) + 1
    counts.set(url, hits)
    const script = scripts.get(url)
    const answer = script === undefined
      ? { status: 404, body: 'no script' }
      : script({ method: request.method ?? 'GET', url, headers: request.headers, hits })
    const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body ?? Buffer.alloc(0)
    const send = (): void => {
      response.writeHead(answer.status ?? 200, { 'content-length': body.length, ...answer.headers })
      if (answer.cut === true) {
        response.write(body, () => { response.socket?.destroy() })
        return
      }
      response.end(request.method === 'HEAD' ? undefined : body)
    }
    if (answer.delay === undefined) send()
    else setTimeout(send, answer.delay)
  })
  return {
    ...upstream,
    script: (path, answer) => { scripts.set(path, typeof answer === 'function' ? answer : () => answer) },
    hits: (path) => counts.get(path) ?? 0
  }
}
