import { relativeName } from '@/lib/dns/plan-records'
import type { DomainContext } from '@/lib/domains/domain-context'
import type { AcmeChallengeSolver, AcmeChallengeTask } from '@/provisioners/types'

export class ChallengeSetupError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ChallengeSetupError'
  }
}

/** Where a custom domain's `_acme-challenge` CNAME points when the client delegates DNS-01 to us. */
export function delegationTarget(domainId: string, zone: string): string {
  return `${domainId}._acme-delegation.${zone}`
}

/**
 * Answers ACME challenges: DNS-01 by TXT records in the hosting zone (through the DNS provider; for a delegated
 * custom domain, at the delegation target its CNAME points to), HTTP-01 by handing the answer to the load balancers.
 * A wildcard and its base name share one TXT name with two values, so the solver keeps every value it presented per
 * name and always writes the whole set.
 */
export function createSolver(ctx: DomainContext, options: { delegatedDomainId?: string } = {}): AcmeChallengeSolver {
  const values = new Map<string, Set<string>>()

  function txtName(task: Extract<AcmeChallengeTask, { type: 'dns-01' }>): string {
    const dns = ctx.dns
    if (!dns) throw new ChallengeSetupError('DNS-01 needs the hosting zone’s DNS provider (GANDI_TOKEN)')
    const fqdn = options.delegatedDomainId ? `_acme-challenge.${delegationTarget(options.delegatedDomainId, dns.zone)}` : task.recordName
    const name = relativeName(fqdn, dns.zone)
    if (name === null) throw new ChallengeSetupError(`${task.recordName} is not in the hosting zone ${dns.zone}`)
    return name
  }

  async function writeSet(name: string) {
    const dns = ctx.dns!
    const set = [...(values.get(name) ?? [])].sort()
    if (set.length) await dns.replace({ name, type: 'TXT', ttl: 300, values: set })
    else await dns.remove(name, 'TXT')
  }

  function delivery() {
    const delivery = ctx.router.certificates
    if (!delivery) throw new ChallengeSetupError('HTTP-01 needs load balancers (CONSUL_HTTP_ADDR): the direct router serves no challenges')
    return delivery
  }

  return {
    async present(task) {
      if (task.type === 'dns-01') {
        const name = txtName(task)
        values.set(name, new Set([...(values.get(name) ?? []), task.value]))
        await writeSet(name)
      } else {
        await delivery().putChallenge({
          token: task.token,
          keyAuthorization: task.keyAuthorization,
          hostname: task.identifier,
          expiresAt: new Date(ctx.now().getTime() + 3_600_000).toISOString(),
        })
      }
    },
    async cleanup(task) {
      if (task.type === 'dns-01') {
        const name = txtName(task)
        values.get(name)?.delete(task.value)
        await writeSet(name)
      } else {
        await delivery().removeChallenge(task.token)
      }
    },
  }
}
