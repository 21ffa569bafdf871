/**
 * Purge tags an upstream gives a response: `Cache-Tag` (comma-separated, as Cloudflare reads it) and
 * `Surrogate-Key` (space-separated, as Fastly and Varnish read it). Both are for the gateway only and are
 * never passed on to clients.
 */
const MAX_TAGS = 64
const MAX_TAG_LENGTH = 256

type HeaderValue = string | string[] | number | undefined

export function responseTags (headers: Readonly<Record<string, HeaderValue>>): string[] {
  const tags = new Set<string>()
  addTags(tags, headers['cache-tag'], /,/)
  addTags(tags, headers['surrogate-key'], /\s+/)
  return [...tags]
}

function addTags (tags: Set<string>, value: HeaderValue, separator: RegExp): void {
  if (value === undefined) return
  for (const line of Array.isArray(value) ? value : [String(value)]) {
    for (const raw of line.split(separator)) {
      const tag = raw.trim()
      if (tag.length > 0 && tag.length <= MAX_TAG_LENGTH && tags.size < MAX_TAGS) tags.add(tag)
    }
  }
}
