/** Before any load: every target must answer 200 with exactly the backend's bytes, or the numbers mean nothing. */
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
    }
  }
}

async function fetchBody (target: Target, body: BodyName): Promise<string> {
  const url = urlFor(target, body)
  // wrk and autocannon send no Accept-Encoding, so neither do we: the check sees what the load sees.
  const response = await fetch(url, { headers: { ...target.headers, 'accept-encoding': 'identity' } })
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`${target.name} ${url}: expected 200, got ${response.status}: ${text.slice(0, SNIPPET_CHARS)}`)
  }
  const type = response.headers.get('content-type') ?? ''
  if (!type.startsWith('application/json')) throw new Error(`${target.name} ${url}: content-type is "${type}", expected application/json`)
  return text
}
