/** Prints the README's configuration table from the config schema (npm run config:table). */
import { ZConfigEnv } from '@/lib/config'
import { z } from 'zod'

const rows = Object.entries(ZConfigEnv.shape).map(([name, schema]) => {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { default?: unknown }
  const def = json.default === undefined ? '—' : `\`${String(json.default)}\``
  return `| \`${name}\` | ${def} | ${(schema.description ?? '').replace(/\|/g, '\\|')} |`
})
console.log(['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n'))
