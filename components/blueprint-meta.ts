import { BLUEPRINTS } from '@/lib/blueprints'
import { OPENEDX_RELEASES, ZOpenedxFeatures } from '@/lib/blueprints/openedx'

/** The human name of a blueprint id, or the id itself for one this build does not know. */
export function blueprintLabel(id: string): string {
  return Object.values(BLUEPRINTS).find((b) => b.id === id)?.label ?? id
}

export interface FeatureOption {
  key: string
  label: string
  description: string
  defaultValue: boolean
}

const LABELS: Record<string, string> = {
  allowPublicAccountCreation: 'Public account creation',
  enableCertificates: 'Certificates',
  enableDiscussions: 'Discussions',
  enableCourseDiscovery: 'Course discovery',
  enableThirdPartyAuth: 'Third-party sign-in',
}

const humanize = (key: string) =>
  key
    .replace(/^enable/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/^./, (c) => c.toUpperCase())

/** What the instance form needs to know about Open edX settings, read from the blueprint's own schema. */
export function openedxFormMeta(): { releases: string[]; features: FeatureOption[]; blueprints: { id: string; label: string }[] } {
  const defaults: Record<string, unknown> = ZOpenedxFeatures.parse({})
  const features = Object.entries(ZOpenedxFeatures.shape).map(([key, schema]) => ({
    key,
    label: LABELS[key] ?? humanize(key),
    description: schema.description ?? '',
    defaultValue: defaults[key] === true,
  }))
  return {
    releases: [...OPENEDX_RELEASES],
    features,
    blueprints: Object.values(BLUEPRINTS).map((b) => ({ id: b.id, label: b.label })),
  }
}
