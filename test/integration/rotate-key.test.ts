import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecretBox, newSecretKeySpec, parseSecretKeys } from '@/lib/secrets/cipher'
import { runScript } from '../support/run-script'
import { freshDatabase, type FreshDatabase } from './helpers'

/** `npm run admin -- rotate-key` as an operator runs it, in both key set-ups, against a database of its own. */
let fresh: FreshDatabase
let dataDir: string
const oldSpec = newSecretKeySpec('old')

async function seedSecret(value: string): Promise<string> {
  const org = await fresh.db.organization.create({ data: { name: 'Keys', slug: `keys-${Date.now()}` } })
  const instance = await fresh.db.instance.create({
    data: {
      organizationId: org.id,
      name: 'Keys',
      slug: `keys-${Date.now()}`,
      blueprint: 'openedx',
      settings: {},
      secrets: createSecretBox(parseSecretKeys(oldSpec)).encrypt(value),
    },
  })
  return instance.id
}

async function rotate(env: Record<string, string>, args: string[] = []) {
  const { SECRETS_KEYS: _ignored, ...inherited } = process.env
  const script = runScript('scripts/admin.ts', ['rotate-key', ...args], {
    ...inherited,
    DATABASE_URL: fresh.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...env,
  })
  const code = await script.exited()
  return { code, output: script.output() }
}

beforeAll(async () => {
  fresh = await freshDatabase()
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'tenon-keys-'))
})

afterAll(async () => {
  await fresh?.drop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('npm run admin -- rotate-key', () => {
  it('with SECRETS_KEYS set: re-encrypts everything with the first key and names the keys left unused', async () => {
    const id = await seedSecret('secret-one')
    const newSpec = newSecretKeySpec('new')
    const { code, output } = await rotate({ SECRETS_KEYS: `${newSpec},${oldSpec}` })
    expect(code, output).toBe(0)
    expect(output).toContain('every secret is now under key new')
    expect(output).toContain('No longer used: old')
    const row = await fresh.db.instance.findUniqueOrThrow({ where: { id } })
    const box = createSecretBox(parseSecretKeys(newSpec))
    expect(box.keyIdOf(row.secrets!)).toBe('new')
    expect(box.decrypt(row.secrets!)).toBe('secret-one')
  })

  it('in the default setup: adds a key to DATA_DIR/secrets-keys, re-encrypts, and drops the old key from the file', async () => {
    await fresh.db.instance.deleteMany()
    const id = await seedSecret('secret-two')
    await writeFile(path.join(dataDir, 'secrets-keys'), oldSpec + '\n', { mode: 0o600 })
    const { code, output } = await rotate({})
    expect(code, output).toBe(0)
    const keys = parseSecretKeys((await readFile(path.join(dataDir, 'secrets-keys'), 'utf8')).trim())
    expect(keys.map((k) => k.id)).toEqual(['local2'])
    const row = await fresh.db.instance.findUniqueOrThrow({ where: { id } })
    expect(createSecretBox(keys).decrypt(row.secrets!)).toBe('secret-two')
  })

  it('--generate prints a new key entry to put first in SECRETS_KEYS', async () => {
    const { code, output } = await rotate({}, ['--generate'])
    expect(code, output).toBe(0)
    expect(parseSecretKeys(output.trim())).toHaveLength(1)
  })
})
