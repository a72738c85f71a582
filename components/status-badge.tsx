import { Badge } from './ui/badge'

const VARIANT: Record<string, 'blue' | 'green' | 'amber' | 'red' | 'neutral'> = {
  new: 'blue',
  running: 'green',
  archived: 'neutral',
  pending: 'amber',
  accepted: 'green',
  revoked: 'neutral',
  expired: 'red',
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge variant={VARIANT[status] ?? 'neutral'}>{status}</Badge>
}
