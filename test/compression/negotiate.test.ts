import { describe, expect, it } from 'vitest'
import { isCompressibleType } from '../../src/compression/eligibility.js'
import { negotiateEncoding } from '../../src/compression/negotiate.js'
import type { CompressionEncoding } from '../../src/config/types.js'

const OFFERED: readonly CompressionEncoding[] = ['br', 'gzip', 'deflate']

describe('Accept-Encoding negotiation (RFC 9110 §12.5.3)', () => {
  it.each<[string | undefined, CompressionEncoding | null]>([
    [undefined, null],
    ['', null],
    ['identity', null],
    ['compress, x-unknown', null],
    ['gzip', 'gzip'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip;q=0.5, br;q=1', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['gzip, deflate', 'gzip'],
    ['deflate;q=0.9, gzip;q=0.9', 'gzip'],
    ['gzip;q=0', null],
    ['gzip;q=0, deflate', 'deflate'],
    ['*', 'br'],
    ['*;q=0', null],
    ['gzip;q=0, *', 'br'],
    ['br;q=0, *', 'gzip'],
    ['br;q=0.1, *;q=0.5', 'gzip'],
    ['GZIP', 'gzip'],
    ['Gzip;Q=0.8, BR;q=0.2', 'gzip'],
    ['x-gzip', 'gzip'],
    ['identity, gzip;q=0.5', null],
    ['identity;q=0.5, gzip', 'gzip'],
    ['identity;q=1, gzip;q=1', 'gzip'],
    ['gzip;q=abc', null],
    ['gzip;q=1.5', null],
    ['gzip ; q=0.500 , br ; q=0.4', 'gzip'],
    ['gzip;level=9;q=0.7, br;q=0.6', 'gzip'],
    [' , ,gzip', 'gzip'],
    ['gzip, gzip;q=0', 'gzip']
  ])('%j → %s', (header, expected) => {
    expect(negotiateEncoding(header, OFFERED)).toBe(expected)
  })

  it('offers only the configured codings, in their order', () => {
    expect(negotiateEncoding('br, gzip', ['gzip'])).toBe('gzip')
    expect(negotiateEncoding('br', ['gzip'])).toBeNull()
    expect(negotiateEncoding('*', ['deflate', 'gzip'])).toBe('deflate')
    expect(negotiateEncoding('gzip, deflate', ['deflate', 'gzip'])).toBe('deflate')
  })
})

describe('compressible content types', () => {
  it.each([
    'text/html', 'text/plain; charset=utf-8', 'text/csv', 'TEXT/CSS',
    'application/json', 'application/json; charset=utf-8', 'application/problem+json', 'application/vnd.api+json',
    'application/ld+json; profile="x"', 'application/xml', 'application/xhtml+xml', 'application/atom+xml',
    'image/svg+xml', 'application/javascript', 'application/x-javascript', 'application/ecmascript'
  ])('%s is compressed', (type) => {
    expect(isCompressibleType(type)).toBe(true)
  })

  it.each([
    'text/event-stream', 'text/event-stream; charset=utf-8', 'image/png', 'image/jpeg', 'application/octet-stream',
    'application/zip', 'application/gzip', 'video/mp4', 'application/json-seq', 'application/jsonx', 'font/woff2', ''
  ])('%s is not', (type) => {
    expect(isCompressibleType(type)).toBe(false)
  })

  it('a response without a type is not compressed (its bytes are unknown)', () => {
    expect(isCompressibleType(undefined)).toBe(false)
  })
})
