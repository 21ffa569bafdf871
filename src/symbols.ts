/** Private per-request and per-instance state lives under Symbols (the Fastify way), never `_fields`. */
export const kService = Symbol('gatehouse.service')
export const kUpstream = Symbol('gatehouse.upstream')
export const kBytesAtStart = Symbol('gatehouse.bytesAtStart')
/** The verified caller of a request (src/auth/principal.ts), null when anonymous. */
export const kPrincipal = Symbol('gatehouse.principal')
/** The gateway's KeyRing (src/auth/key-ring.ts), shared by every service scope. */
export const kKeyRing = Symbol('gatehouse.keyRing')
/** Every service's UpstreamPool by service name, on the root instance (the admin endpoint reads them). */
export const kUpstreamPools = Symbol('gatehouse.upstreamPools')
/** What this gateway instance holds of the objects that outlive a reload (src/reload/carryover.ts), on the root instance. */
export const kHolding = Symbol('gatehouse.holding')
/**
 * How the service whose scope routed a request answers an upstream fault (the upstream call's onError in
 * src/proxy/callbacks.ts): a getter on the proxy scope's Reply prototype, so a body that fails while it is
 * collected (src/proxy/whole-body.ts) is answered as a failed request is.
 */
export const kAnswerUpstreamFault = Symbol('gatehouse.answerUpstreamFault')
