import { Badge } from './ui/badge'

type Variant = 'blue' | 'green' | 'amber' | 'red' | 'neutral'

// The console's colours (status-badge.tsx): blue in progress, green usable, amber needs a look or is winding
// down, red failed, grey over. "not configured" is amber: the instance runs, but on data that does not last.
const VARIANT: Record<string, Variant> = {
  provisioning: 'blue',
  ready: 'green',
  failed: 'red',
  retained: 'amber',
  destroying: 'amber',
  destroyed: 'neutral',
  'not configured': 'amber',
  'not provisioned': 'neutral',
  // final exports
  running: 'blue',
  succeeded: 'green',
}

/** A resource's state (or "not configured" / "not provisioned" for a kind the instance has no resource of), or a final export's. */
export function ResourceStateBadge({ state }: { state: string }) {
  return (
    <Badge variant={VARIANT[state] ?? 'neutral'} data-status={state}>
      {state}
    </Badge>
  )
}
