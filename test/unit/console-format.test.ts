import { describe, expect, it } from 'vitest'
import { bytesToBase64 } from '@/components/base64'
import { relativeTime } from '@/components/relative-time'

const NOW = Date.parse('2026-11-26T12:00:00.000Z')
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString()

describe('relativeTime', () => {
  it.each([
    [0, 'just now'],
    [0.4, 'just now'],
    [40, 'in 40 s'],
    [-40, '40 s ago'],
    [59, 'in 59 s'],
    [60, 'in 1 min'],
    [-12 * 60 - 30, '12 min ago'],
    [3599, 'in 59 min'],
    [3600, 'in 1 h'],
    [-5 * 3600, '5 h ago'],
    // Up to two days in hours ("in 47 h" says more than "in 1 d" about a check or a renewal that close).
    [47 * 3600, 'in 47 h'],
    [48 * 3600, 'in 2 d'],
    [89 * 86_400 + 3600, 'in 89 d'],
    [-400 * 86_400, '400 d ago'],
  ])('%s s from now reads "%s"', (seconds, expected) => {
    expect(relativeTime(at(seconds), NOW)).toBe(expected)
  })

  it('takes a Date as well as an ISO string', () => {
    expect(relativeTime(new Date(NOW + 90_000), NOW)).toBe('in 1 min')
  })
})

describe('bytesToBase64', () => {
  it.each([0, 1, 2, 3, 100, 0x8000 - 1, 0x8000, 0x8000 + 1, 200_000])('encodes %s bytes as Node does', (length) => {
    const bytes = new Uint8Array(length)
    for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) % 256
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'))
  })
})
