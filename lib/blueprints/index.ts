import type { z } from 'zod'
import type { Blueprint } from '@/lib/db/generated/enums'
import { OPENEDX_RELEASES, ZOpenedxSettings } from './openedx'

/**
 * What kind of platform an instance runs. Each blueprint owns the schema of its settings; later it will
 * also declare the resources it needs and render an appserver's configuration.
 */
export interface BlueprintDefinition {
  id: Blueprint
  label: string
  settingsSchema: z.ZodType<Record<string, unknown>>
  /** Settings a new instance starts from, before the creator's own values. */
  defaultSettings(input: { name: string; contactEmail?: string }): Record<string, unknown>
}

export const BLUEPRINTS: Record<Blueprint, BlueprintDefinition> = {
  openedx: {
    id: 'openedx',
    label: 'Open edX',
    settingsSchema: ZOpenedxSettings,
    defaultSettings: ({ name }) => ({ release: OPENEDX_RELEASES[OPENEDX_RELEASES.length - 1], platformName: name }),
  },
}

export const BLUEPRINT_IDS = Object.keys(BLUEPRINTS) as Blueprint[]

export function getBlueprint(id: Blueprint): BlueprintDefinition {
  return BLUEPRINTS[id]
}
