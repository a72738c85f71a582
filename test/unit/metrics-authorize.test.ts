import { describe, expect, it } from 'vitest'
import { metricsScrapeAllowed } from '@/lib/metrics/authorize'

describe('metricsScrapeAllowed', () => {
  const token = 'scrape-token-0123456789'
  it.each([
    ['no token configured, no header', null, undefined, true],
    ['no token configured, any header', 'Bearer whatever', undefined, true],
    ['token configured, no header', null, token, false],
    ['token configured, wrong token', 'Bearer scrape-token-012345678X', token, false],
    ['token configured, prefix of the token', 'Bearer scrape-token', token, false],
    ['token configured, not a bearer header', token, token, false],
    ['token configured, right token', `Bearer ${token}`, token, true],
    ['token configured, lower-case scheme', `bearer ${token}`, token, true],
  ])('%s', (_name, header, configured, expected) => {
    expect(metricsScrapeAllowed(header, configured)).toBe(expected)
  })
})
