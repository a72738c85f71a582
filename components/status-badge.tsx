import { Badge } from './ui/badge'

type Variant = 'blue' | 'green' | 'amber' | 'red' | 'neutral'

// One colour per meaning across the console: blue is work in progress, green is serving or done, amber
// needs a look or is winding down, red failed, grey is over.
const VARIANT: Record<string, Variant> = {
  new: 'blue',
  running: 'green',
  archived: 'neutral',
  pending: 'amber',
  accepted: 'green',
  revoked: 'neutral',
  expired: 'red',
  // deployments
  building: 'blue',
  activating: 'blue',
  active: 'green',
  superseded: 'neutral',
  failed: 'red',
  cancelled: 'neutral',
  terminated: 'neutral',
  // appservers
  provisioning: 'blue',
  configuring: 'blue',
  starting: 'blue',
  healthy: 'green',
  draining: 'amber',
  inactive: 'neutral',
  terminating: 'amber',
  // rollouts and their items
  paused: 'amber',
  completed: 'green',
  deploying: 'blue',
  succeeded: 'green',
  skipped: 'neutral',
  // resources ("not configured": the instance runs, but on data that does not last)
  ready: 'green',
  retained: 'amber',
  destroying: 'amber',
  destroyed: 'neutral',
  'not configured': 'amber',
  'not provisioned': 'neutral',
  // load-balancer nodes ("down": silent too long, so no longer waited for)
  'in-sync': 'green',
  behind: 'amber',
  error: 'red',
  down: 'neutral',
  // an instance's hostnames (what clients see of its routing)
  served: 'green',
  'maintenance page': 'amber',
  // domains: their DNS records in the hosting zone ("unmanaged": no DNS provider), custom domains' verification
  synced: 'green',
  deleting: 'amber',
  unmanaged: 'neutral',
  verified: 'green',
  // certificates (pending, failed and expired as above)
  issuing: 'blue',
  valid: 'green',
  renewing: 'blue',
}

export function StatusBadge({ status, className }: { status: string; className?: string }) {
  return (
    <Badge variant={VARIANT[status] ?? 'neutral'} className={className} data-status={status}>
      {status}
    </Badge>
  )
}
