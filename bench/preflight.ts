/** Before any load: every target must answer 200 with exactly the backend's bytes, or the numbers mean nothing. */
import { Agent, fetch as undiciFetch } from 'undici'
import { BODY_NAMES, urlFor, type BodyName, type Target } from './measure.js'

const SNIPPET_CHARS = 200

export async function checkTargets (direct: Target, proxies: readonly Target[]): Promise<void> {
  for (const body of BODY_NAMES) {
    const expected = await fetchBody(direct, body)
    for (const proxy of proxies) {
      const actual = await fetchBody(proxy, body)
      if (actual !== expected) {
        throw new Error(`${proxy.name} ${urlFor(proxy, body)} returned ${actual.length} bytes that differ from the backend's ${expected.length}`)
      }
      await checkEncoded(proxy, body, expected)
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
async function get (url: string, headers: Record<string, string>, ca: string | undefined): Promise<{ status: number, type: string, text: string }> {
  if (ca === undefined) {
    const response = await fetch(url, { headers })
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() }
  }
  const dispatcher = new Agent({ connect: { ca } })
  try {
    const response = await undiciFetch(url, { headers, dispatcher })
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() }
  } finally {
    await dispatcher.close()
  }
}
