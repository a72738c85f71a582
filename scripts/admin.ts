/**
 * Operator commands:
 *   npm run admin -- create-user --email E --password P [--name N] --staff
 *   npm run admin -- create-user --email E --password P [--name N] --org SLUG --role owner|member
 *   npm run admin -- create-token --email E --name N      (prints the token once)
 *   npm run admin -- rotate-key [--generate]             (re-encrypts every secret with the first key)
 * Uses DATABASE_URL, or the embedded PostgreSQL of this folder when unset (stop `npm start` first:
 * the embedded server belongs to one process at a time).
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { Config } from '@/lib/config'
import type { Db } from '@/lib/db/client'
import { createSecretBox, newSecretKeySpec, parseSecretKeys } from '@/lib/secrets/cipher'
import { keyUsage, reencryptAll } from '@/lib/secrets/reencrypt'
import { createUserInTx } from '@/lib/accounts/create-user'
import { checkNewUser } from '@/lib/accounts/create-user'
import { systemActor } from '@/lib/auth/actor'
import { createDb } from '@/lib/db/client'
import { applyMigrations } from '@/lib/db/migrate'
import { DomainError } from '@/lib/errors'
import { createApiToken } from '@/lib/tokens/api-tokens'
import { withDatabase } from './lib/bootstrap'

const USAGE = `usage:
  npm run admin -- create-user --email E --password P [--name N] (--staff | --org SLUG --role owner|member)
  npm run admin -- create-token --email E --name N
  npm run admin -- rotate-key [--generate]`

async function main() {
  const [verb, ...rest] = process.argv.slice(2)
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      staff: { type: 'boolean', default: false },
      org: { type: 'string' },
      role: { type: 'string', default: 'member' },
      generate: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const actor = systemActor('admin-cli')
  if (verb === 'rotate-key' && values.generate) {
    // For SECRETS_KEYS set by the operator: a fresh entry to put first, before running rotate-key.
    console.log(newSecretKeySpec(`k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`))
    return
  }
  // Read before the bootstrap fills SECRETS_KEYS from DATA_DIR for the default setup.
  const keysFromEnvironment = Boolean(process.env.SECRETS_KEYS)
  await withDatabase(async (url, _log, config) => {
    await applyMigrations(url)
    const db = createDb(url, { max: 2 })
    try {
      if (verb === 'create-user') {
        if (values.staff === !!values.org) throw new Error('give either --staff or --org SLUG\n' + USAGE)
        if (values.role !== 'owner' && values.role !== 'member') throw new Error('--role must be owner or member')
        const user = checkNewUser({ email: values.email, password: values.password, name: values.name ?? values.email?.split('@')[0] })
        const org = values.org ? await db.organization.findUnique({ where: { slug: values.org } }) : null
        if (values.org && !org) throw new Error(`no organization with the slug ${values.org}`)
        const created = await db.$transaction((tx) =>
          createUserInTx(tx, {
            actor,
            user,
            isStaff: values.staff,
            membership: org ? { organizationId: org.id, role: values.role as 'owner' | 'member' } : undefined,
          }),
        )
        console.log(`created ${values.staff ? 'staff user' : `${values.role} of ${org?.slug}`} ${created.email} (${created.id})`)
      } else if (verb === 'create-token') {
        if (!values.email || !values.name) throw new Error(USAGE)
        const user = await db.user.findUnique({ where: { email: values.email.toLowerCase() } })
        if (!user) throw new Error(`no user with the email ${values.email}`)
        const { token, apiToken } = await createApiToken({ db, actor, userId: user.id, name: values.name })
        console.error(`created API token "${apiToken.name}" (${apiToken.id}) for ${user.email}; it is shown only now:`)
        console.log(token)
      } else if (verb === 'rotate-key') {
        await rotateKey(db, config, keysFromEnvironment)
      } else {
        throw new Error(USAGE)
      }
    } finally {
      await db.$disconnect()
    }
  })
}

/**
 * Key rotation. Default setup (keys in DATA_DIR/secrets-keys): a new key goes first in that file, every secret is
 * re-encrypted with it, and keys nothing uses any more are dropped from the file. With SECRETS_KEYS set by the
 * operator: every secret is re-encrypted with its first key, and the keys left unused are named so they can be
 * removed once every process runs with the new list.
 */
async function rotateKey(db: Db, config: Config, keysFromEnvironment: boolean) {
  const keyFile = path.resolve(config.dataDir, 'secrets-keys')
  let spec = config.secretsKeys ?? ''
  if (!keysFromEnvironment) {
    const existing = parseSecretKeys(spec)
    const taken = new Set(existing.map((k) => k.id))
    let n = existing.length + 1
    while (taken.has(`local${n}`)) n++
    spec = [newSecretKeySpec(`local${n}`), spec].join(',')
    await writeFile(keyFile, spec + '\n', { mode: 0o600 })
  }
  const keys = parseSecretKeys(spec)
  const box = createSecretBox(keys)
  const report = await reencryptAll(db, box)
  for (const r of report)
    if (r.rewritten) console.log(`${r.table}.${r.column}: ${r.rewritten} value(s) re-encrypted with key ${box.currentKeyId}`)
  const usage = await keyUsage(db)
  const unused = keys.filter((k) => k.id !== box.currentKeyId && !usage[k.id]).map((k) => k.id)
  if (!keysFromEnvironment) {
    const kept = spec.split(',').filter((entry) => !unused.includes(entry.slice(0, entry.indexOf(':'))))
    await writeFile(keyFile, kept.join(',') + '\n', { mode: 0o600 })
    console.log(`${keyFile}: now encrypting with ${box.currentKeyId}${unused.length ? `; removed unused key(s) ${unused.join(', ')}` : ''}`)
  } else {
    console.log(`every secret is now under key ${box.currentKeyId}.`)
    if (unused.length)
      console.log(
        `No longer used: ${unused.join(', ')}; remove them from SECRETS_KEYS once every process runs with ${box.currentKeyId} first.`,
      )
  }
}

main().catch((err: unknown) => {
  if (err instanceof DomainError) {
    console.error(err.details.fields?.map((f) => `--${f.field}: ${f.message}`).join('\n') || err.message)
  } else {
    console.error(err instanceof Error ? err.message : err)
  }
  process.exit(1)
})
