/** Building blocks shared by the parts of the services.json schema. */
import { Type, type TSchema } from '@sinclair/typebox'

export const Milliseconds = (description: string, fallback: number, maximum = 86_400_000) =>
  Type.Integer({ minimum: 1, maximum, description: `${description} (milliseconds).`, default: fallback })

/** A policy key takes `true` / `false` for its defaults, or an object of options (issue 2). */
export const Policy = <T extends TSchema>(options: T, description: string) =>
  Type.Union([Type.Boolean(), options], { description })

export const AddressList = (description: string) => Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
  description, examples: [['10.0.0.0/8', '2001:db8::/32', '203.0.113.7']]
}))

// Path segments made of RFC 3986 unreserved characters only: no dot-segments, no encoded bytes.
const SEGMENT = '[A-Za-z0-9_~-][A-Za-z0-9._~-]*'
export const PREFIX_PATTERN = `^/(${SEGMENT}(/${SEGMENT})*)?$`
/** A path below a service prefix, optionally ending in `/*` for "this path and everything below it". */
export const ROUTE_PATTERN = `^/((${SEGMENT}(/${SEGMENT})*)(/\\*)?|\\*)?$`

export const HttpMethod = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((method) => Type.Literal(method)),
  { description: 'An HTTP method.' }
)

/** Which requests of a service a rule applies to: a path below the prefix and, optionally, methods. */
export const RouteMatch = {
  path: Type.String({
    pattern: ROUTE_PATTERN,
    description: 'Path below the service prefix: "/health" is exactly /users/health; "/admin/*" is /users/admin and everything below it.',
    examples: ['/health', '/admin/*']
  }),
  methods: Type.Optional(Type.Array(HttpMethod, { minItems: 1, description: 'Methods the rule applies to; absent means every method.' }))
}
