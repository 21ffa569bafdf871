/** Demo upstream: users, in memory. The gateway strips `/users`, so this service routes at its own root. */
import type { FastifyInstance } from 'fastify'
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

  app.get('/', async () => ({ users: [...users.values()] }))

  app.get<{ Params: { id: string } }>('/:id', async (request, reply) => {
    const user = users.get(request.params.id)
    return user ?? sendProblem(reply, 404, `user ${request.params.id} does not exist`)
  })

  app.post<{ Body: NewUser }>('/', { schema: { body: newUserSchema } }, async (request, reply) => {
    if (users.size >= MAX_USERS) return sendProblem(reply, 507, `the demo keeps at most ${MAX_USERS} users`)
    const user = add(request.body)
    return reply.code(201).header('location', `/${user.id}`).send(user)
  })

  return app
}

await listenWhenMain(import.meta.url, buildUsersService, 3001)
