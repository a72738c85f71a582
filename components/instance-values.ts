import type { FeatureOption } from './blueprint-meta'

export interface InstanceFormValues {
  name: string
  release: string
  platformName: string
  contactEmail: string
  features: Record<string, boolean>
  extraSettings: string
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Form values from an instance as the API returns it (used for the 409 "load current values" path). */
export function valuesFromInstance(instance: unknown, features: FeatureOption[]): { version: number; values: InstanceFormValues } | null {
  if (!isRecord(instance) || typeof instance.version !== 'number' || typeof instance.name !== 'string') return null
  const settings = isRecord(instance.settings) ? instance.settings : {}
  const flags = isRecord(settings.features) ? settings.features : {}
  return {
    version: instance.version,
    values: {
      name: instance.name,
      release: typeof settings.release === 'string' ? settings.release : '',
      platformName: typeof settings.platformName === 'string' ? settings.platformName : '',
      contactEmail: typeof settings.contactEmail === 'string' ? settings.contactEmail : '',
      features: Object.fromEntries(
        features.map((f) => [f.key, typeof flags[f.key] === 'boolean' ? flags[f.key] === true : f.defaultValue]),
      ),
      extraSettings: typeof instance.extraSettings === 'string' ? instance.extraSettings : '',
    },
  }
}
