/**
 * The content coding of a response, chosen from the request's Accept-Encoding (RFC 9110 §12.5.3):
 * - codings are case-insensitive, and `x-gzip` is gzip (RFC 9110 §8.4.1.3);
 * - a coding the client does not list is acceptable only through `*`, and at `*`'s weight; `q=0` refuses a
 *   coding even when `*` is present (`gzip;q=0, *` never gets gzip);
 * - the highest weight wins; equal weights go to the server's order (`encodings` in gateway.compression);
 * - an explicit `identity` weighted above every coding offered keeps the body as it is.
 * No header, an empty one, `identity` or only codings we do not offer: identity.
 *
 * Not @fastify/accept-negotiator: it compares codings case-sensitively and maps `*` to the first offered
 * coding even when that coding is refused (`br;q=0, *` → br). Only bodies worth compressing get here, so the
 * few small strings this allocates are never on the path of small responses.
 */
import type { CompressionEncoding } from '../config/types.js'

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** The coding to send, or null for identity. `offered` is in the server's order of preference. */
export function negotiateEncoding (acceptEncoding: string | undefined, offered: readonly CompressionEncoding[]): CompressionEncoding | null {
  if (acceptEncoding === undefined || acceptEncoding === '') return null
  const weights = parseAcceptEncoding(acceptEncoding)
  const anyOther = weights.get('*') ?? 0
  let best: CompressionEncoding | null = null
  let bestWeight = 0
  for (const coding of offered) {
    const weight = weights.get(coding) ?? anyOther
    // Strictly greater: on a tie the coding the server lists first stays.
    if (weight > bestWeight) {
      best = coding
      bestWeight = weight
    }
  }
  const identity = weights.get('identity')
  return identity !== undefined && identity > bestWeight ? null : best
}

/** Coding (lower case) → weight. A member listed twice keeps its first weight; a malformed weight drops the member. */
export function parseAcceptEncoding (header: string): Map<string, number> {
  const weights = new Map<string, number>()
  for (const member of header.split(',')) {
    const semicolon = member.indexOf(';')
    let coding = (semicolon === -1 ? member : member.slice(0, semicolon)).trim().toLowerCase()
    if (coding === '') continue
    if (coding === 'x-gzip') coding = 'gzip'
    const weight = semicolon === -1 ? 1 : weightOf(member.slice(semicolon + 1))
    if (weight !== null && !weights.has(coding)) weights.set(coding, weight)
  }
  return weights
}

/** The `q` parameter among a member's parameters: 1 when absent, null when malformed. */
function weightOf (parameters: string): number | null {
  for (const parameter of parameters.split(';')) {
    const trimmed = parameter.trim()
    if (trimmed.length < 2 || (trimmed[0] !== 'q' && trimmed[0] !== 'Q') || trimmed[1] !== '=') continue
    const value = trimmed.slice(2).trim()
    return QVALUE.test(value) ? Number(value) : null
  }
  return 1
}
