import type { VmDriver, VmDriverKind } from '../types'
import { createLocalDriver, type LocalDriverOptions } from './local'
import { createNomadDriver, type NomadDriverOptions } from './nomad'
import { createOvhDriver, type OvhDriverOptions } from './ovh'

/** Each driver's settings, keyed by the same literal as the database enum and the driver's `kind`. */
export type VmDriverSettings =
  | { kind: 'local'; options: LocalDriverOptions }
  | { kind: 'ovh'; options: OvhDriverOptions }
  | { kind: 'nomad'; options: NomadDriverOptions }

/** The one registry of VM drivers. */
export function createVmDriver(settings: VmDriverSettings): VmDriver {
  switch (settings.kind) {
    case 'local':
      return createLocalDriver(settings.options)
    case 'ovh':
      return createOvhDriver(settings.options)
    case 'nomad':
      return createNomadDriver(settings.options)
  }
}

export type { VmDriver, VmDriverKind }
