import { describe, expect, it } from 'vitest'
import { checkBudget, identifiersOf, usable, type LedgerOrder } from '@/lib/certificates/budget'
import { registeredDomains } from '@/lib/certificates/registered-domain'

const LIMITS = { certificatesPerWeek: 50, duplicatesPerWeek: 5, failuresPerHour: 5, ordersPer3Hours: 300 }
const now = new Date('2026-11-26T12:00:00Z')
const ago = (ms: number) => new Date(now.getTime() - ms)
const HOUR = 3_600_000

function order(partial: Partial<LedgerOrder>): LedgerOrder {
  return {
    createdAt: ago(HOUR),
    identifiers: 'x',
    registeredDomains: ['hosting.example'],
    renewal: false,
    status: 'valid',
    failedHostnames: [],
    ...partial,
  }
}

function request(hostnames: string[], renewal = false) {
  return { identifiers: identifiersOf(hostnames), hostnames, registeredDomains: registeredDomains(hostnames), renewal }
}

describe('the rate-limit budget', () => {
  it('keeps a reserve of each limit, but always allows one', () => {
    expect(usable(50, 0.1)).toBe(45)
    expect(usable(5, 0.1)).toBe(4)
    expect(usable(1, 0.9)).toBe(1)
  })

  it('stops new certificates for a registered domain before the weekly limit, and says when to try again', () => {
    const ledger = Array.from({ length: 45 }, (_, i) => order({ createdAt: ago((i + 1) * HOUR), identifiers: `i${i}` }))
    const decision = checkBudget(request(['new.hosting.example', '*.new.hosting.example']), ledger, LIMITS, 0.1, now)
    expect(decision).toMatchObject({ allowed: false, limit: 'certificatesPerWeek' })
    if (!decision.allowed) expect(decision.retryAt.toISOString()).toBe(new Date(ago(45 * HOUR).getTime() + 7 * 24 * HOUR).toISOString())
    // one fewer in the window: allowed
    expect(checkBudget(request(['new.hosting.example']), ledger.slice(1), LIMITS, 0.1, now)).toEqual({ allowed: true })
  })

  it('lets renewals past the new-certificates limit but not past the duplicates limit', () => {
    const ledger = Array.from({ length: 45 }, (_, i) => order({ identifiers: `i${i}` }))
    expect(checkBudget(request(['a.hosting.example'], true), ledger, LIMITS, 0.1, now)).toEqual({ allowed: true })
    const same = request(['a.hosting.example'], true)
    const dupes = Array.from({ length: 4 }, () => order({ identifiers: same.identifiers, renewal: true }))
    expect(checkBudget(same, dupes, LIMITS, 0.1, now)).toMatchObject({ allowed: false, limit: 'duplicatesPerWeek' })
  })

  it('counts failed validations per hostname per hour, and forgets them after the hour', () => {
    const failures = Array.from({ length: 4 }, (_, i) =>
      order({ createdAt: ago((i + 1) * 60_000), status: 'invalid', failedHostnames: ['shop.client.example'] }),
    )
    expect(checkBudget(request(['shop.client.example']), failures, LIMITS, 0.1, now)).toMatchObject({
      allowed: false,
      limit: 'failuresPerHour',
    })
    expect(checkBudget(request(['other.client.example']), failures, LIMITS, 0.1, now)).toEqual({ allowed: true })
    const old = failures.map((f) => ({ ...f, createdAt: ago(2 * HOUR) }))
    expect(checkBudget(request(['shop.client.example']), old, LIMITS, 0.1, now)).toEqual({ allowed: true })
  })

  it('failed orders do not count as certificates', () => {
    const ledger = Array.from({ length: 45 }, (_, i) => order({ identifiers: `i${i}`, status: 'error' }))
    expect(checkBudget(request(['b.hosting.example']), ledger, LIMITS, 0.1, now)).toEqual({ allowed: true })
  })

  it('caps orders per account per three hours', () => {
    const ledger = Array.from({ length: 270 }, (_, i) =>
      order({ createdAt: ago(60_000), identifiers: `i${i}`, registeredDomains: [`d${i}.example`] }),
    )
    expect(checkBudget(request(['c.other.example']), ledger, LIMITS, 0.1, now)).toMatchObject({ allowed: false, limit: 'ordersPer3Hours' })
  })

  it('finds registered domains with the public suffix list', () => {
    expect(registeredDomains(['*.acme.hosting.example.co.uk', 'learn.client.com'])).toEqual(['client.com', 'example.co.uk'])
    expect(identifiersOf(['B.example', 'a.example', 'b.example'])).toBe('a.example,b.example')
  })
})
