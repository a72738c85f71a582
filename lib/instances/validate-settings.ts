import type { Blueprint } from '@/lib/db/generated/enums'
import { getBlueprint } from '@/lib/blueprints'
import type { FieldError } from '@/lib/errors'

/** Validates settings with the blueprint's schema; problems name their field as "settings.<path>". */
export function validateSettings(
  blueprint: Blueprint,
  settings: Record<string, unknown>,
): { ok: true; settings: Record<string, unknown> } | { ok: false; fields: FieldError[] } {
  const parsed = getBlueprint(blueprint).settingsSchema.safeParse(settings)
  if (parsed.success) return { ok: true, settings: parsed.data }
  return {
    ok: false,
    fields: parsed.error.issues.flatMap((issue) => {
      const base = ['settings', ...issue.path.map(String)].join('.')
      // An unknown key is reported on the key itself, so the field named is the one to remove.
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: `${base}.${k}`, message: 'is not a known setting' }))
      return [{ field: base, message: issue.message }]
    }),
  }
}

/** Deep merge of plain objects: the patch wins; arrays and scalars are replaced. */
export function mergeSettings(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current }
  for (const [k, v] of Object.entries(patch)) {
    const c = out[k]
    out[k] = isObject(c) && isObject(v) ? mergeSettings(c, v) : v
  }
  return out
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
