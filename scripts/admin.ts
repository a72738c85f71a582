/**
 * Operator commands:
 *   npm run admin -- create-user --email E --password P [--name N] --staff
 *   npm run admin -- create-user --email E --password P [--name N] --org SLUG --role owner|member
 *   npm run admin -- create-token --email E --name N      (prints the token once)
 * Uses DATABASE_URL, or the embedded PostgreSQL of this folder when unset (stop `npm start` first:
 * the embedded server belongs to one process at a time).
 */
import { parseArgs } from 'node:util'
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
  npm run admin -- create-token --email E --name N`

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
    },
    strict: true,
  })
  const actor = systemActor('admin-cli')
  await withDatabase(async (url) => {
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
      } else {
        throw new Error(USAGE)
      }
    } finally {
      await db.$disconnect()
    }
  })
}

main().catch((err: unknown) => {
  if (err instanceof DomainError) {
    console.error(err.details.fields?.map((f) => `--${f.field}: ${f.message}`).join('\n') || err.message)
  } else {
    console.error(err instanceof Error ? err.message : err)
  }
  process.exit(1)
})
