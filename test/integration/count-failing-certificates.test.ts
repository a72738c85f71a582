import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemActor } from '@/lib/auth/actor'
import { countFailingCertificates } from '@/lib/certificates/count-failing'
import { listCertificates } from '@/lib/certificates/list-certificates'
import type { Prisma } from '@/lib/db/generated/client'
import { freshDatabase, type FreshDatabase } from './helpers'

/**
 * The console banner's count of certificates that need a person, against real PostgreSQL. In a database of its own:
 * the count is over every certificate, and other test files add theirs to the shared one.
 */
let fresh: FreshDatabase

const DAY = 86_400_000
const inDays = (days: number) => new Date(Date.now() + days * DAY)

beforeAll(async () => {
  fresh = await freshDatabase()
})

afterAll(async () => {
  await fresh?.drop()
})

async function add(name: string, data: Omit<Prisma.CertificateCreateInput, 'hostnames' | 'source'> & { source?: 'acme' | 'uploaded' }) {
  return fresh.db.certificate.create({ data: { source: 'acme', hostnames: [`${name}.example.test`], ...data } })
}

describe('countFailingCertificates', () => {
  it('is zero without certificates', async () => {
    await expect(countFailingCertificates(fresh.db)).resolves.toBe(0)
  })

  it('counts failed and expired certificates and any whose last attempt left an error, as the Certificates page sorts them', async () => {
    await add('valid', { state: 'valid', notAfter: inDays(60) })
    await add('pending', { state: 'pending' })
    await add('issuing', { state: 'issuing' })
    await add('uploaded', { source: 'uploaded', state: 'valid', notAfter: inDays(200) })
    await expect(countFailingCertificates(fresh.db)).resolves.toBe(0)

    const failing = [
      await add('failed', { state: 'failed', lastError: 'HTTP-01 needs load balancers' }),
      await add('expired', { source: 'uploaded', state: 'expired', notAfter: inDays(-1) }),
      // A failed renewal keeps serving the old certificate: valid, but someone must look.
      await add('renewal-failed', { state: 'valid', notAfter: inDays(5), lastError: 'the CA answered 503' }),
      await add('first-attempt-failed', { state: 'pending', lastError: 'DNS provider timed out' }),
    ]
    await expect(countFailingCertificates(fresh.db)).resolves.toBe(4)

    const list = await listCertificates(fresh.db, systemActor('tests'), { limit: 50 })
    expect(list.failing).toBe(4)
    expect(new Set(list.items.slice(0, 4).map((c) => c.id))).toEqual(new Set(failing.map((c) => c.id)))
  })

  it('goes down once an error is cleared (a successful attempt)', async () => {
    await fresh.db.certificate.updateMany({ where: { hostnames: { has: 'renewal-failed.example.test' } }, data: { lastError: null } })
    await expect(countFailingCertificates(fresh.db)).resolves.toBe(3)
  })
})
