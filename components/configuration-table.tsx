import { flatten, formatValue } from './format'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'

const MASK = '••••••'

/**
 * A frozen configuration as a key/value table, nested keys dotted. The stored configuration has no secret
 * values at all; `secretKeys` puts a masked row where each one goes, so staff see that it is set.
 */
export function ConfigurationTable({
  configuration,
  secretKeys,
  label = 'Configuration',
}: {
  configuration: Record<string, unknown>
  secretKeys: readonly string[]
  label?: string
}) {
  const rows = new Map<string, string>()
  for (const [key, value] of Object.entries(flatten(configuration))) rows.set(key, formatValue(value))
  for (const key of secretKeys) rows.set(key, MASK)
  const sorted = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (!sorted.length) return <p className="text-sm text-neutral-500">Empty configuration.</p>
  return (
    <Table aria-label={label}>
      <THead>
        <tr>
          <TH className="w-1/3">Key</TH>
          <TH>Value</TH>
        </tr>
      </THead>
      <TBody>
        {sorted.map(([key, value]) => (
          <TR key={key}>
            <TD className="font-mono text-xs break-all text-neutral-600">{key}</TD>
            <TD className="font-mono text-xs break-all">
              {value === MASK ? (
                <span title="Secret: stored encrypted, never shown">
                  {MASK} <span className="sr-only">(secret)</span>
                </span>
              ) : (
                value
              )}
            </TD>
          </TR>
        ))}
      </TBody>
    </Table>
  )
}
