import { describe, expect, it } from 'vitest'
import { likeLiteral } from '@/lib/db/like'

describe('likeLiteral', () => {
  it.each([
    ['plain text', 'plain text'],
    ['100%', '100\\%'],
    ['a_b', 'a\\_b'],
    ['back\\slash', 'back\\\\slash'],
    ['%_\\', '\\%\\_\\\\'],
    ['', ''],
  ])('%j → %j', (input, escaped) => {
    expect(likeLiteral(input)).toBe(escaped)
  })
})
