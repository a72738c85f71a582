import { CopyBox } from './copy-box'
import type { TDnsRecordShown } from './domain-schemas'
import { Badge } from './ui/badge'
import { Table, TBody, TD, TH, THead, TR } from './ui/table'

/** Accessible names for each record's boxes ("TXT record value"), numbered should two records share a type. */
function labelsOf(records: TDnsRecordShown[]): string[] {
  const base = records.map((r) => `${r.required ? '' : 'Optional '}${r.type} record`)
  return base.map((label, i) =>
    base.indexOf(label) === base.lastIndexOf(label) ? label : `${label} ${base.slice(0, i + 1).filter((l) => l === label).length}`,
  )
}

/**
 * The DNS records a client creates at their own DNS provider for a custom domain, each name and value with a copy
 * button (values such as the verification token are long and unforgiving of typos).
 */
export function DnsRecords({ records, hostname }: { records: TDnsRecordShown[]; hostname: string }) {
  const labels = labelsOf(records)
  return (
    <Table aria-label={`DNS records for ${hostname}`} className="table-fixed">
      <THead>
        <tr>
          <TH className="w-20">Type</TH>
          <TH>Name</TH>
          <TH>Value</TH>
          <TH className="w-1/4">What for</TH>
        </tr>
      </THead>
      <TBody>
        {records.map((r, i) => (
          <TR key={`${r.type} ${r.name}`} data-testid="dns-record" data-type={r.type} data-required={r.required}>
            <TD className="font-mono text-xs font-medium">
              {r.type}
              {r.required ? null : (
                <Badge variant="neutral" className="mt-1 block w-fit">
                  optional
                </Badge>
              )}
            </TD>
            <TD>
              <CopyBox value={r.name} label={`${labels[i]} name`} />
            </TD>
            <TD>
              <CopyBox value={r.value} label={`${labels[i]} value`} />
            </TD>
            <TD className="text-xs text-neutral-600">{r.purpose}</TD>
          </TR>
        ))}
      </TBody>
    </Table>
  )
}
