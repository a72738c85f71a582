import Link from 'next/link'
import { flatten, formatDateTime, formatValue } from './format'
import { Badge } from './ui/badge'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'
import type { TAuditEntry } from '@/lib/audit/list-audit'

const MAX_CHANGES = 8

/** "field: before → after" lines for the fields that differ, nested settings flattened to dotted names. */
export function diffLines(diff: TAuditEntry['diff']): { field: string; before?: string; after?: string }[] {
  const lines: { field: string; before?: string; after?: string }[] = []
  for (const [field, change] of Object.entries(diff)) {
    const before = 'before' in change ? flatten(change.before, field) : {}
    const after = 'after' in change ? flatten(change.after, field) : {}
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const b = key in before ? formatValue(before[key]) : undefined
      const a = key in after ? formatValue(after[key]) : undefined
      if (b !== a) lines.push({ field: key, before: b, after: a })
    }
  }
  return lines
}

function Diff({ diff }: { diff: TAuditEntry['diff'] }) {
  const lines = diffLines(diff)
  if (!lines.length) return <span className="text-neutral-400">—</span>
  return (
    <ul className="space-y-0.5 font-mono text-xs">
      {lines.slice(0, MAX_CHANGES).map((l) => (
        <li key={l.field} className="break-all">
          <span className="text-neutral-500">{l.field}:</span>{' '}
          {l.before !== undefined ? <span className="text-red-700 line-through decoration-red-300">{l.before}</span> : null}
          {l.before !== undefined && l.after !== undefined ? <span className="text-neutral-400"> → </span> : null}
          {l.after !== undefined ? <span className="text-emerald-800">{l.after}</span> : null}
        </li>
      ))}
      {lines.length > MAX_CHANGES ? <li className="text-neutral-500">…and {lines.length - MAX_CHANGES} more</li> : null}
    </ul>
  )
}

/** A readable name for the target: its name or email as the entry recorded it, else the end of its id. */
function targetLabel(entry: TAuditEntry): string {
  for (const key of ['name', 'email']) {
    const change = entry.diff[key]
    const value = change?.after ?? change?.before
    if (typeof value === 'string' && value) return value
  }
  return `…${entry.targetId.slice(-8)}`
}

function targetHref(entry: TAuditEntry): string | null {
  if (entry.targetType === 'instance') return `/instances/${entry.targetId}`
  if (entry.targetType === 'organization') return `/organizations/${entry.targetId}`
  return null
}

export function AuditTable({
  entries,
  organizationNames,
  showOrganization = true,
  label = 'Audit log',
}: {
  entries: TAuditEntry[]
  organizationNames: Record<string, string>
  showOrganization?: boolean
  label?: string
}) {
  return (
    <Table aria-label={label}>
      <THead>
        <tr>
          <TH>Time</TH>
          <TH>Actor</TH>
          <TH>Action</TH>
          <TH>Target</TH>
          {showOrganization ? <TH>Organization</TH> : null}
          <TH>Changes</TH>
        </tr>
      </THead>
      <TBody>
        {entries.map((e) => {
          const href = targetHref(e)
          const orgName = e.organizationId ? (organizationNames[e.organizationId] ?? e.organizationId.slice(0, 8)) : null
          return (
            <TR key={e.id}>
              <TD className="whitespace-nowrap text-neutral-600 tabular-nums">{formatDateTime(e.at)}</TD>
              <TD className="whitespace-nowrap">
                {e.actor.label}
                {e.actor.apiTokenId ? (
                  <Badge className="ml-1" title="Made with an API token">
                    token
                  </Badge>
                ) : null}
              </TD>
              <TD className="font-mono text-xs whitespace-nowrap">{e.action}</TD>
              <TD className="max-w-56">
                <span className="text-neutral-500">{e.targetType}</span>{' '}
                {href ? (
                  <Link href={href} title={e.targetId} className="text-blue-700 hover:underline">
                    {targetLabel(e)}
                  </Link>
                ) : (
                  <span title={e.targetId}>{targetLabel(e)}</span>
                )}
              </TD>
              {showOrganization ? (
                <TD className="whitespace-nowrap">
                  {e.organizationId && orgName ? (
                    <Link href={`/organizations/${e.organizationId}`} className="hover:underline">
                      {orgName}
                    </Link>
                  ) : (
                    <span className="text-neutral-400">—</span>
                  )}
                </TD>
              ) : null}
              <TD className="min-w-64">
                <Diff diff={e.diff} />
              </TD>
            </TR>
          )
        })}
      </TBody>
    </Table>
  )
}
