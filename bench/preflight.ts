/** Before any load: every target must answer 200 with exactly the backend's bytes, or the numbers mean nothing. */
import { Agent, fetch as undiciFetch } from 'undici'
import { BODY_NAMES, urlFor, type BodyName, type Target } from './measure.js'

const SNIPPET_CHARS = 200
/** RFC 9211: a `hit` parameter on the cache's list member, e.g. "gatehouse; hit; ttl=3600" or "nginx; hit". */
const CACHE_HIT = /;\s*hit\s*(?:;|,|$)/

export async function checkTargets (direct: Target, proxies: readonly Target[]): Promise<void> {
  for (const body of BODY_NAMES) {
    const expected = await fetchBody(direct, body)
    for (const proxy of proxies) {
      const actual = await fetchBody(proxy, body)
      if (actual !== expected) {
        throw new Error(`${proxy.name} ${urlFor(proxy, body)} returned ${actual.length} bytes that differ from the backend's ${expected.length}`)
      }
      await checkEncoded(proxy, body, expected)
      await checkCacheHit(proxy, body)
    }
  }
}

/** A target asking for an encoding must get the backend's bytes back once decoded (fetch decodes gzip). */
async function checkEncoded (target: Target, body: BodyName, expected: string): Promise<void> {
  const encoding = target.headers?.['accept-encoding']
  if (encoding === undefined) return
  const url = urlFor(target, body)
  const { status, text } = await get(url, { ...target.headers }, target.ca)
  if (status !== 200 || text !== expected) {
    throw new Error(`${target.name} ${url} with Accept-Encoding: ${encoding}: status ${status}, ${text.length} bytes after decoding, expected the backend's ${expected.length}`)
  }
}

/** A target measured on cache hits must answer a repeat from its cache (the fetches above have filled it). */
async function checkCacheHit (target: Target, body: BodyName): Promise<void> {
  if (target.cacheHits !== true) return
  const url = urlFor(target, body)
  const { status, cacheStatus } = await get(url, { 'accept-encoding': 'identity', ...target.headers }, target.ca)
  if (status !== 200 || !CACHE_HIT.test(cacheStatus)) {
    throw new Error(`${target.name} ${url}: a repeated request was not a cache hit (status ${status}, Cache-Status "${cacheStatus}")`)
  }
}

async function fetchBody (target: Target, body: BodyName): Promise<string> {
  const url = urlFor(target, body)
  // wrk and autocannon send no Accept-Encoding, so neither do we: the check sees what the load sees.
  const { status, type, text } = await get(url, { ...target.headers, 'accept-encoding': 'identity' }, target.ca)
  if (status !== 200) {
    throw new Error(`${target.name} ${url}: expected 200, got ${status}: ${text.slice(0, SNIPPET_CHARS)}`)
  }
  if (!type.startsWith('application/json')) throw new Error(`${target.name} ${url}: content-type is "${type}", expected application/json`)
  return text
}

/** A GET; an https:// target's certificate is verified against its own CA (the bench's self-signed one). */
async function get (url: string, headers: Record<string, string>, ca: string | undefined): Promise<Answer> {
  if (ca === undefined) return answer(await fetch(url, { headers }))
  const dispatcher = new Agent({ connect: { ca } })
  try {
    return answer(await undiciFetch(url, { headers, dispatcher }))
  } finally {
    await dispatcher.close()
  }
}

interface Answer {
  readonly status: number
  readonly type: string
  readonly cacheStatus: string
  readonly text: string
}

async function answer (response: { status: number, headers: { get (name: string): string | null }, text (): Promise<string> }): Promise<Answer> {
  const header = (name: string): string => response.headers.get(name) ?? ''
  return { status: response.status, type: header('content-type'), cacheStatus: header('cache-status'), text: await response.text() }
}
