import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as setupRoute from '@/app/api/v1/setup/route'
import { getDb, setDb } from '@/lib/db/client'
import { DomainError } from '@/lib/errors'
import { claimSetup, issueSetupCode, needsSetup } from '@/lib/setup/setup-code'
import { callRoute } from '../support/call-route'
import { uniq } from '../support/fixtures'
import { fieldsOf, freshDatabase, type FreshDatabase } from './helpers'

/**
 * First-run setup needs a database without staff: the shared one has staff from other test files, so
 * these tests use a database of their own and empty it between tests.
 */
let fresh: FreshDatabase
const shared = getDb()

beforeAll(async () => {
  fresh = await freshDatabase()
})

afterEach(async () => {
  setDb(shared)
  await fresh.db.auditEntry.deleteMany()
  await fresh.db.user.deleteMany()
  await fresh.db.setupCode.deleteMany()
})

afterAll(async () => {
  setDb(shared)
  await fresh?.drop()
})

const newStaff = () => ({ email: `first-${uniq()}@example.test`, name: 'First Staff', password: 'first-staff-password' })

async function codeOf(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof DomainError) return err
    throw err
  }
  throw new Error('expected a DomainError')
}

describe('setup code', () => {
  it('is issued while no staff account exists, in groups of five', async () => {
    expect(await needsSetup(fresh.db)).toBe(true)
    const code = await issueSetupCode(fresh.db)
    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{5}(-[A-HJ-NP-Z2-9]{5}){3}$/)
    const [row] = await fresh.db.setupCode.findMany()
    expect(row!.codeHash).not.toContain(code!.replace(/-/g, ''))
    const next = await issueSetupCode(fresh.db)
    expect(next).not.toBe(code)
    expect(await fresh.db.setupCode.count()).toBe(1)
  })

  it('refuses a wrong code with invalid_input naming code', async () => {
    await issueSetupCode(fresh.db)
    const err = await codeOf(claimSetup({ db: fresh.db, code: 'AAAAA-AAAAA-AAAAA-AAAAA', user: newStaff() }))
    expect(err.code).toBe('invalid_input')
    expect(err.details.fields?.map((f) => f.field)).toEqual(['code'])
    expect(await fresh.db.user.count()).toBe(0)
  })

  it('refuses an expired code', async () => {
    const code = (await issueSetupCode(fresh.db))!
    await fresh.db.setupCode.update({ where: { id: 1 }, data: { expiresAt: new Date(Date.now() - 1000) } })
    const err = await codeOf(claimSetup({ db: fresh.db, code, user: newStaff() }))
    expect(err.details.fields?.map((f) => f.field)).toEqual(['code'])
  })

  it('creates the first staff account with the right code (spacing and case do not matter), once', async () => {
    const code = (await issueSetupCode(fresh.db))!
    const user = newStaff()
    const { userId } = await claimSetup({ db: fresh.db, code: ` ${code.toLowerCase().replace(/-/g, ' ')} `, user })
    const created = await fresh.db.user.findUniqueOrThrow({ where: { id: userId } })
    expect(created).toMatchObject({ email: user.email, isStaff: true })
    expect(await needsSetup(fresh.db)).toBe(false)
    expect(await fresh.db.setupCode.count()).toBe(0)
    const audit = await fresh.db.auditEntry.findFirstOrThrow({ where: { targetId: userId } })
    expect(audit).toMatchObject({ action: 'user.created', actorLabel: 'system:setup' })
    expect(JSON.stringify(audit)).not.toContain(user.password)

    const again = await codeOf(claimSetup({ db: fresh.db, code, user: newStaff() }))
    expect(again.code).toBe('gone')
    expect(await issueSetupCode(fresh.db)).toBeNull()
    expect(await fresh.db.user.count({ where: { isStaff: true } })).toBe(1)
  })

  it('checks the new account before the code', async () => {
    const code = (await issueSetupCode(fresh.db))!
    const err = await codeOf(claimSetup({ db: fresh.db, code, user: { ...newStaff(), password: 'short' } }))
    expect(err.details.fields?.map((f) => f.field)).toEqual(['password'])
    expect(await needsSetup(fresh.db)).toBe(true)
  })

  it('lets exactly one of several concurrent claims win', async () => {
    const code = (await issueSetupCode(fresh.db))!
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => claimSetup({ db: fresh.db, code, user: newStaff() })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect((r.reason as DomainError).code).toBe('gone')
    expect(await fresh.db.user.count({ where: { isStaff: true } })).toBe(1)
  })
})

describe('/api/v1/setup', () => {
  it('reports setup as needed, refuses a wrong code naming code, then creates the staff account once', async () => {
    setDb(fresh.db)
    expect((await callRoute(setupRoute.GET, {})).body).toEqual({ needed: true })
    const code = (await issueSetupCode(fresh.db))!
    const user = newStaff()
    const wrong = await callRoute(setupRoute.POST, { body: { code: 'WRONG-WRONG-WRONG-WRONG', ...user } })
    expect(wrong.status).toBe(400)
    expect(fieldsOf(wrong.body)).toEqual(['code'])
    const bad = await callRoute(setupRoute.POST, { body: { code, ...user, email: 'nope' } })
    expect(bad.status).toBe(400)
    expect(fieldsOf(bad.body)).toEqual(['email'])
    const ok = await callRoute(setupRoute.POST, { body: { code, ...user } })
    expect(ok.status).toBe(201)
    expect((await callRoute(setupRoute.GET, {})).body).toEqual({ needed: false })
    const again = await callRoute(setupRoute.POST, { body: { code, ...newStaff() } })
    expect(again.status).toBe(410)
    expect(await fresh.db.user.count({ where: { isStaff: true } })).toBe(1)
  })
})
