import type { AppserverState } from '@/lib/db/generated/enums'
import type { OwnedVm } from '@/provisioners/types'
import { LIVE_APPSERVER_STATES } from './appserver-states'

export interface DriftRecord {
  id: string
  state: AppserverState
  /** the driver reported creating its VM */
  provisioned: boolean
  vanishedAt: Date | null
}

/** States in which the VM must exist: provisioned and not yet on its way out. */
const MUST_EXIST: readonly AppserverState[] = ['configuring', 'starting', 'healthy', 'active', 'draining', 'inactive']

/**
 * Compares the VMs a driver lists with the appserver records (pure):
 * - a VM whose appserver is terminated, or has no record and is older than the grace period, is destroyed
 *   (its age comes from the appserver id, a UUIDv7, so a VM created a moment before its record commits is safe);
 * - a record whose VM is missing (or listed as gone or failed) is noted once, and failed when still missing
 *   after `vanishGraceMs` (a driver's list can lag behind a create).
 */
export function planDrift(input: { vms: OwnedVm[]; records: DriftRecord[]; now: Date; orphanGraceMs: number; vanishGraceMs: number }) {
  const records = new Map(input.records.map((r) => [r.id, r]))
  // A VM the driver lists as gone (a stopped Nomad job, a deleted OVH instance still listed) does not exist, and
  // one listed as failed (a local process that died and left its folder, a dead Nomad job, an OVH instance in
  // ERROR) serves nothing: appservers are replaced, not repaired, so both count as missing.
  const listed = new Set(input.vms.filter((v) => v.phase !== 'gone' && v.phase !== 'failed').map((v) => v.appserverId))
  const destroy: OwnedVm[] = []
  for (const vm of input.vms) {
    if (vm.phase === 'gone') continue
    const record = records.get(vm.appserverId)
    if (record) {
      if (!LIVE_APPSERVER_STATES.includes(record.state)) destroy.push(vm)
      continue
    }
    const born = uuidv7Time(vm.appserverId)
    if (born === undefined || input.now.getTime() - born >= input.orphanGraceMs) destroy.push(vm)
  }
  const missingOnce: string[] = []
  const vanished: string[] = []
  const seenAgain: string[] = []
  for (const r of input.records) {
    if (!MUST_EXIST.includes(r.state) || !r.provisioned) continue
    if (listed.has(r.id)) {
      if (r.vanishedAt) seenAgain.push(r.id)
      continue
    }
    if (!r.vanishedAt) missingOnce.push(r.id)
    else if (input.now.getTime() - r.vanishedAt.getTime() >= input.vanishGraceMs) vanished.push(r.id)
  }
  return { destroy, missingOnce, vanished, seenAgain }
}

/** Milliseconds since the epoch encoded in a UUIDv7 (its first 48 bits), or undefined for other UUIDs. */
export function uuidv7Time(id: string): number | undefined {
  const hex = id.replace(/-/g, '')
  if (hex.length !== 32 || hex[12] !== '7') return undefined
  return parseInt(hex.slice(0, 12), 16)
}
