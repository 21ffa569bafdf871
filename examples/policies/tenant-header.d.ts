// Types for tenant-header.js, which stays plain JavaScript on purpose (a team's plugin needs no build step).
import type { FastifyPluginAsync } from 'fastify'

declare const tenantHeader: FastifyPluginAsync
export default tenantHeader
