import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ZConfigEnv } from '@/lib/config'

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')

describe('README', () => {
  it('opens with the start and test command lines', () => {
    const firstBlock = readme.split('```')[1] ?? ''
    expect(firstBlock).toContain('npm install && npm start')
    expect(firstBlock).toContain('npm test')
  })

  it.each(Object.keys(ZConfigEnv.shape))('documents the variable %s', (name) => {
    expect(readme).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`))
  })
})
