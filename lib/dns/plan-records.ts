import { isIPv4, isIPv6 } from 'node:net'
import type { DnsRecordSet } from '@/provisioners/types'

/** A record set as the ledger (DnsRecord rows) remembers it. */
export interface LedgerRecord {
  name: string
  type: string
  values: string[]
  ttl: number
  state: 'pending' | 'synced' | 'failed' | 'deleting'
}

/** "studio.acme.hosting.example" in zone "hosting.example" → "studio.acme"; the zone itself → "@"; outside → null. */
export function relativeName(hostname: string, zone: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  const z = zone.toLowerCase().replace(/\.$/, '')
  if (host === z) return '@'
  return host.endsWith(`.${z}`) ? host.slice(0, -(z.length + 1)) : null
}

/**
 * The record sets an instance's hostnames need (pure): an A set of the load balancers' IPv4 addresses and an AAAA
 * set of their IPv6 ones for each hostname in the zone. Values sorted, so comparing with what was written is exact.
 */
export function desiredRecordSets(hostnames: readonly string[], zone: string, addresses: readonly string[], ttl: number): DnsRecordSet[] {
  const v4 = [...new Set(addresses.filter((a) => isIPv4(a)))].sort()
  const v6 = [...new Set(addresses.filter((a) => isIPv6(a)).map((a) => a.toLowerCase()))].sort()
  const sets: DnsRecordSet[] = []
  for (const hostname of [...new Set(hostnames)].sort()) {
    const name = relativeName(hostname, zone)
    if (name === null) continue
    if (v4.length) sets.push({ name, type: 'A', ttl, values: v4 })
    if (v6.length) sets.push({ name, type: 'AAAA', ttl, values: v6 })
  }
  return sets
}

export interface RecordPlan {
  /** sets to create or replace (each one PUT) */
  write: DnsRecordSet[]
  /** sets to delete (no longer wanted) */
  remove: { name: string; type: string }[]
}

/** What to change so the zone holds `desired` for an instance, given what the ledger says was written (pure). */
export function planRecords(desired: readonly DnsRecordSet[], ledger: readonly LedgerRecord[]): RecordPlan {
  const key = (r: { name: string; type: string }) => `${r.name} ${r.type}`
  const written = new Map(ledger.map((r) => [key(r), r]))
  const wanted = new Set(desired.map(key))
  const write = desired.filter((d) => {
    const was = written.get(key(d))
    return !was || was.state !== 'synced' || was.ttl !== d.ttl || [...was.values].sort().join(' ') !== d.values.join(' ')
  })
  const remove = ledger.filter((r) => !wanted.has(key(r))).map((r) => ({ name: r.name, type: r.type }))
  return { write, remove }
}

/** Parses "a, b" lists of addresses, refusing anything that is not an IP address. */
export function checkAddresses(addresses: readonly string[]): string[] {
  const bad = addresses.filter((a) => !isIPv4(a) && !isIPv6(a))
  if (bad.length) throw new Error(`not IP addresses: ${bad.join(', ')}`)
  return [...addresses]
}
