/**
 * Active health checks of a service's replicas: GET `path` on each one every `interval`, through the
 * service's own dispatcher (same TLS settings), with its own timeout. The pool applies the thresholds;
 * state changes are logged by the pool's listener. Timers are unref'd and stop with the gateway.
 */
import type { Dispatcher } from 'undici'
import type { HealthCheckSettings } from '../config/types.js'
import type { Member } from './member.js'
import type { UpstreamPool } from './pool.js'

const USER_AGENT = 'gatehouse-health-check'

export class HealthChecker {
  readonly #timers = new Set<NodeJS.Timeout>()
  #started = false
  #stopped = false

  constructor (
    private readonly pool: UpstreamPool,
    private readonly settings: HealthCheckSettings,
    private readonly dispatcher: Dispatcher
  ) {}

  /** Checks every member now, then every interval; once, however many gateway instances share the pool. */
  start (): void {
    if (this.#started) return
    this.#started = true
    for (const member of this.pool.members) this.#checkAndReschedule(member).catch(() => {})
  }

  stop (): void {
    this.#stopped = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }

  async #checkAndReschedule (member: Member): Promise<void> {
    const passed = await this.#check(member)
    if (this.#stopped) return
    this.pool.checked(member, passed, this.settings.healthyThreshold, this.settings.unhealthyThreshold)
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#checkAndReschedule(member).catch(() => {})
    }, this.settings.interval)
    timer.unref()
    this.#timers.add(timer)
  }

  async #check (member: Member): Promise<boolean> {
    try {
      const { statusCode, body } = await this.dispatcher.request({
        origin: member.url,
        path: this.settings.path,
        method: 'GET',
        headers: { host: member.host, 'user-agent': USER_AGENT },
        headersTimeout: this.settings.timeout,
        bodyTimeout: this.settings.timeout,
        signal: AbortSignal.timeout(this.settings.timeout)
      })
      await body.dump()
      const expected = this.settings.expectedStatuses
      return expected === null ? statusCode >= 200 && statusCode < 400 : expected.includes(statusCode)
    } catch {
      return false
    }
  }
}
