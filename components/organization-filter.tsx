import { Label } from '@/components/ui/label'
import { Select } from '@/components/ui/select'

/** The "Organization" select of a GET filter form (instances, audit log). */
export function OrganizationFilter({
  organizations,
  value,
  className = 'w-56 space-y-1',
}: {
  organizations: { id: string; name: string }[]
  value: string | undefined
  className?: string
}) {
  return (
    <div className={className}>
      <Label htmlFor="organizationId">Organization</Label>
      <Select id="organizationId" name="organizationId" defaultValue={value ?? ''}>
        <option value="">All organizations</option>
        {organizations.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name}
          </option>
        ))}
      </Select>
    </div>
  )
}
