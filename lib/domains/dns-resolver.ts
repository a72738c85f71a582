import { Resolver } from 'node:dns/promises'

/** What a custom domain's check reads from the public DNS (through DNS_RESOLVERS when set). */
export interface DomainResolver {
  /** TXT values of a name, each record's strings joined; [] when the name or record does not exist */
  txt(name: string): Promise<string[]>
  /** the CNAME target of a name (lower case, no trailing dot), or null */
  cname(name: string): Promise<string | null>
  /** IPv4 and IPv6 addresses of a name; [] when none */
  addresses(name: string): Promise<string[]>
}

/** DNS answers that mean "nothing there" rather than "could not ask". */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND', 'ENONAME', 'NXDOMAIN'])

export class ResolverError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ResolverError'
  }
}

export function createDnsResolver(servers: string[] | undefined, timeoutMs: number): DomainResolver {
  const resolver = new Resolver({ timeout: Math.max(500, Math.floor(timeoutMs / 3)), tries: 2 })
  if (servers?.length) resolver.setServers(servers)
  async function ask<T>(what: string, name: string, fn: () => Promise<T>, empty: T): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      if (ABSENT.has(code)) return empty
      throw new ResolverError(`the ${what} lookup of ${name} failed (${code || (err instanceof Error ? err.message : String(err))})`)
    }
  }
  return {
    txt: (name) => ask('TXT', name, async () => (await resolver.resolveTxt(name)).map((parts) => parts.join('')), [] as string[]),
    cname: (name) =>
      ask(
        'CNAME',
        name,
        async () => (await resolver.resolveCname(name))[0]?.toLowerCase().replace(/\.$/, '') ?? null,
        null as string | null,
      ),
    addresses: async (name) => [
      ...(await ask('A', name, () => resolver.resolve4(name), [] as string[])),
      ...(await ask('AAAA', name, () => resolver.resolve6(name), [] as string[])),
    ],
  }
}
