/** Demo upstream: users, in memory. The gateway strips `/users`, so this service routes at its own root. */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { listenWhenMain } from './run.js'
import { createService, sendProblem, type ServiceOptions } from './service.js'

export interface User {
  readonly id: string
  readonly name: string
  readonly email: string
}

type NewUser = Omit<User, 'id'>

// A demo store still needs a ceiling: a load test must not grow it until the process dies.
const MAX_USERS = 10_000

const newUserSchema = {
  type: 'object',
  required: ['name', 'email'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    email: { type: 'string', format: 'email', maxLength: 254 }
  }
} as const

const SEED: readonly NewUser[] = [
  { name: 'Ada Lovelace', email: 'ada@example.com' },
  { name: 'Grace Hopper', email: 'grace@example.com' },
  { name: 'Alan Turing', email: 'alan@example.com' }
]

export function buildUsersService (options: ServiceOptions = {}): FastifyInstance {
  const app = createService(options)
  const users = new Map<string, User>()
  let lastId = 0
  const add = (fields: NewUser): User => {
    const user: User = { id: String(++lastId), name: fields.name, email: fields.email }
    users.set(user.id, user)
    return user
  }
  SEED.forEach(add)

  // Storable by the gateway's cache for a few seconds, served stale for a while longer as it refreshes,
  // and tagged so `POST /_gatehouse/cache/purge?tag=users` drops every cached user answer at once.
  app.get('/', async (_request, reply) => {
    cacheable(reply)
    return { users: [...users.values()] }
  })

  app.get<{ Params: { id: string } }>('/:id', async (request, reply) => {
    const user = users.get(request.params.id)
    if (user === undefined) return sendProblem(reply, 404, `user ${request.params.id} does not exist`)
    cacheable(reply)
    return user
  })

  app.post<{ Body: NewUser }>('/', { schema: { body: newUserSchema } }, async (request, reply) => {
    if (users.size >= MAX_USERS) return sendProblem(reply, 507, `the demo keeps at most ${MAX_USERS} users`)
    const user = add(request.body)
    return reply.code(201).header('location', `/${user.id}`).send(user)
  })

  return app
}

function cacheable (reply: FastifyReply): void {
  reply.header('cache-control', 'public, max-age=5, stale-while-revalidate=30, stale-if-error=300').header('cache-tag', 'users')
}

await listenWhenMain(import.meta.url, buildUsersService, 3001)
