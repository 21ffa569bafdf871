import { describe, expect, it } from 'vitest'
import { principalFor } from '../../src/auth/principal.js'
import { VerifiedTokens } from '../../src/auth/verified-tokens.js'

const NOW = 1_800_000_000_000
const seconds = (ms: number): number => Math.floor(ms / 1000)

describe('the verified-token cache', () => {
  it('answers a remembered token only between its nbf and exp, with the clock tolerance', () => {
    const cache = new VerifiedTokens(10, 5_000)
    const principal = principalFor({ sub: 'alice', nbf: seconds(NOW + 60_000), exp: seconds(NOW + 120_000) })
    cache.remember('t1', principal, NOW)
    expect(cache.get('t1', NOW)).toBeUndefined()
    expect(cache.get('t1', NOW + 55_000)).toBe(principal)
    expect(cache.get('t1', NOW + 125_000)).toBe(principal)
    expect(cache.get('t1', NOW + 125_001)).toBeUndefined()
    // Once found expired, it is gone even for an earlier clock.
    expect(cache.get('t1', NOW + 100_000)).toBeUndefined()
  })

  it('trusts a token without exp for ten minutes at most, then wants a fresh signature check', () => {
    const cache = new VerifiedTokens(10, 0)
    cache.remember('t', principalFor({ sub: 'bob' }), NOW)
    expect(cache.get('t', NOW + 600_000)).toBeDefined()
    expect(cache.get('t', NOW + 600_001)).toBeUndefined()
  })

  it('keeps at most its capacity, dropping the least recently used', () => {
    const cache = new VerifiedTokens(2, 0)
    const principal = principalFor({ sub: 'carol', exp: seconds(NOW + 60_000) })
    cache.remember('a', principal, NOW)
    cache.remember('b', principal, NOW)
    expect(cache.get('a', NOW)).toBe(principal)
    cache.remember('c', principal, NOW)
    expect(cache.get('b', NOW)).toBeUndefined()
    expect(cache.get('a', NOW)).toBe(principal)
    expect(cache.get('c', NOW)).toBe(principal)
  })

  it('remembers nothing with a capacity of 0', () => {
    const cache = new VerifiedTokens(0, 0)
    cache.remember('a', principalFor({ sub: 'dan' }), NOW)
    expect(cache.get('a', NOW)).toBeUndefined()
  })
})
