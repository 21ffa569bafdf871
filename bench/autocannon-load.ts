/** The fallback load generator: autocannon in the runner process (it takes about a core of its own). */
import type { LoadGenerator, LoadRequest, LoadResult } from './load-generator.js'

export async function autocannonGenerator (): Promise<LoadGenerator> {
  // Imported only when used: with wrk, the runner stays a small idle process.
  const { default: autocannon } = await import('autocannon')
  return {
    name: 'autocannon',
    description: 'autocannon in the runner process (it competes with the targets for CPU; p50/p99 at 1 ms resolution)',
    async run (request: LoadRequest): Promise<LoadResult> {
      const result = await autocannon({ url: request.url, connections: request.connections, duration: request.durationSeconds, headers: { ...request.headers } })
      const requests = result.requests.total
      return {
        requests,
        requestsPerSecond: result.duration > 0 ? requests / result.duration : 0,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts
      }
    }
  }
}
