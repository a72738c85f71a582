/**
 * The rate-limit budget of one ACME account (pure). Let's Encrypt refuses orders past its limits for up to a week,
 * so the product counts its own orders (the AcmeOrder ledger) and stops before a limit would be hit, keeping a
 * reserve for people issuing by hand:
 * - new certificates per registered domain per 7 days (renewals of the same set of names are exempt),
 * - certificates per exact set of names per 7 days (renewals included),
 * - failed validations per hostname per hour,
 * - new orders per account per 3 hours.
 */

export interface BudgetLimits {
  certificatesPerWeek: number
  duplicatesPerWeek: number
  failuresPerHour: number
  ordersPer3Hours: number
}

/** One order from the ledger. */
export interface LedgerOrder {
  createdAt: Date
  identifiers: string
  registeredDomains: string[]
  renewal: boolean
  status: 'pending' | 'valid' | 'invalid' | 'error'
  failedHostnames: string[]
}

export interface BudgetRequest {
  /** the sorted names, comma-separated (identifiersOf) */
  identifiers: string
  hostnames: string[]
  registeredDomains: string[]
  renewal: boolean
}

export type BudgetLimit = keyof BudgetLimits

export type BudgetDecision =
  | { allowed: true }
  | {
      allowed: false
      limit: BudgetLimit
      /** when the oldest order counted leaves the window */
      retryAt: Date
      reason: string
    }

const HOUR = 3_600_000
const WEEK = 7 * 24 * HOUR

/** How far back the ledger must be read to decide. */
export const LEDGER_WINDOW_MS = WEEK

/** The part of a limit Tenon may use: `reserve` (0..0.9) is left unused, and at least one order is always possible. */
export function usable(limit: number, reserve: number): number {
  return Math.max(1, Math.floor(limit * (1 - reserve)))
}

export function identifiersOf(hostnames: readonly string[]): string {
  return [...new Set(hostnames.map((h) => h.toLowerCase()))].sort().join(',')
}

export function checkBudget(
  request: BudgetRequest,
  ledger: readonly LedgerOrder[],
  limits: BudgetLimits,
  reserve: number,
  now: Date,
): BudgetDecision {
  const t = now.getTime()
  const within = (o: LedgerOrder, ms: number) => o.createdAt.getTime() > t - ms
  const refuse = (limit: BudgetLimit, counted: LedgerOrder[], ms: number, reason: string): BudgetDecision => ({
    allowed: false,
    limit,
    retryAt: new Date(Math.min(...counted.map((o) => o.createdAt.getTime())) + ms),
    reason: `${reason} (the CA allows ${limits[limit]}; Tenon keeps ${Math.round(reserve * 100)}% in reserve)`,
  })

  const recentOrders = ledger.filter((o) => within(o, 3 * HOUR))
  if (recentOrders.length >= usable(limits.ordersPer3Hours, reserve))
    return refuse('ordersPer3Hours', recentOrders, 3 * HOUR, `${recentOrders.length} orders in the last 3 hours`)

  for (const hostname of request.hostnames) {
    const failures = ledger.filter((o) => within(o, HOUR) && o.failedHostnames.includes(hostname))
    if (failures.length >= usable(limits.failuresPerHour, reserve))
      return refuse('failuresPerHour', failures, HOUR, `${failures.length} failed validations of ${hostname} in the last hour`)
  }

  // Certificates are what count here: orders that produced one, and those still in progress.
  const issued = ledger.filter((o) => within(o, WEEK) && (o.status === 'valid' || o.status === 'pending'))
  const duplicates = issued.filter((o) => o.identifiers === request.identifiers)
  if (duplicates.length >= usable(limits.duplicatesPerWeek, reserve))
    return refuse('duplicatesPerWeek', duplicates, WEEK, `${duplicates.length} certificates for exactly these names in 7 days`)

  if (!request.renewal) {
    for (const domain of request.registeredDomains) {
      const fresh = issued.filter((o) => !o.renewal && o.registeredDomains.includes(domain))
      if (fresh.length >= usable(limits.certificatesPerWeek, reserve))
        return refuse('certificatesPerWeek', fresh, WEEK, `${fresh.length} new certificates for ${domain} in 7 days`)
    }
  }
  return { allowed: true }
}
