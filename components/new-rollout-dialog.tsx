'use client'

import { Plus } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { ZCreatedResource } from './api-schemas'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'
import { Select } from './ui/select'

/** API field names (dotted paths of the request) → the form's fields. */
const FIELD_OF: Record<string, string> = {
  'selection.organizationId': 'organizationId',
  'selection.release': 'release',
  'selection.olderThanDays': 'olderThanDays',
  concurrency: 'concurrency',
  failureBudgetPercent: 'failureBudgetPercent',
}

/** A number field: empty means "not given"; anything else is sent as typed, for the API to judge. */
function numberOrUndefined(value: FormDataEntryValue | null): number | undefined {
  const s = String(value ?? '').trim()
  return s === '' ? undefined : Number(s)
}

/** Staff start a rolling redeploy over a selection of instances. */
export function NewRolloutDialog({
  organizations,
  releases,
}: {
  organizations: { id: string; name: string }[]
  releases: readonly string[]
}) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    const organizationId = String(form.get('organizationId') ?? '')
    const release = String(form.get('release') ?? '')
    const olderThanDays = numberOrUndefined(form.get('olderThanDays'))
    const body = {
      selection: {
        ...(organizationId ? { organizationId } : {}),
        ...(release ? { release } : {}),
        ...(olderThanDays !== undefined ? { olderThanDays } : {}),
      },
      concurrency: numberOrUndefined(form.get('concurrency')),
      failureBudgetPercent: numberOrUndefined(form.get('failureBudgetPercent')),
    }
    setBusy(true)
    setMessage(null)
    const result = await api('POST', '/api/v1/rollouts', body, ZCreatedResource)
    setBusy(false)
    if (!result.ok) {
      const mapped = {
        ...result.error,
        fields: result.error.fields.map((f) => ({ field: FIELD_OF[f.field] ?? f.field, message: f.message })),
      }
      const split = splitErrors(mapped, Object.values(FIELD_OF))
      setErrors(split.fields)
      // "selects no instance" belongs to the selection as a whole: the API's sentence says it best.
      setMessage(
        result.error.fields.some((f) => f.field === 'selection') ? `${result.error.message}: loosen or remove a filter.` : split.message,
      )
      return
    }
    setOpen(false)
    setErrors({})
    router.push(`/rollouts/${result.data.id}`)
    router.refresh()
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        if (!o) {
          setErrors({})
          setMessage(null)
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus aria-hidden /> New rollout
        </Button>
      </DialogTrigger>
      <DialogContent className="max-w-lg">
        <DialogTitle>New rollout</DialogTitle>
        <DialogDescription>
          Redeploys every instance the filters select, a few at a time, and pauses when too many fail. Archived instances are never
          selected.
        </DialogDescription>
        <form onSubmit={submit} noValidate className="mt-4 space-y-4" aria-label="New rollout">
          {message ? <Alert variant="error">{message}</Alert> : null}
          <fieldset className="space-y-3 rounded-md border border-neutral-200 p-3">
            <legend className="px-1 text-xs font-medium text-neutral-600">Which instances (every filter applies)</legend>
            <Field id="rollout-organization" label="Organization" error={errors.organizationId}>
              <Select name="organizationId" defaultValue="" {...fieldAria('rollout-organization', errors.organizationId)}>
                <option value="">Any organization</option>
                {organizations.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="rollout-release" label="Release" error={errors.release}>
              <Select name="release" defaultValue="" {...fieldAria('rollout-release', errors.release)}>
                <option value="">Any release</option>
                {releases.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </Select>
            </Field>
            <Field
              id="rollout-older-than"
              label="Deployed at least this many days ago"
              hint="Empty: any age. Instances never deployed count as old enough."
              error={errors.olderThanDays}
            >
              <Input
                name="olderThanDays"
                type="number"
                min={0}
                step={1}
                inputMode="numeric"
                {...fieldAria('rollout-older-than', errors.olderThanDays, true)}
              />
            </Field>
          </fieldset>
          <div className="grid grid-cols-2 gap-3">
            <Field id="rollout-concurrency" label="Concurrency" hint="Instances redeployed at once." error={errors.concurrency}>
              <Input
                name="concurrency"
                type="number"
                min={1}
                step={1}
                defaultValue={5}
                inputMode="numeric"
                {...fieldAria('rollout-concurrency', errors.concurrency, true)}
              />
            </Field>
            <Field
              id="rollout-budget"
              label="Failure budget (%)"
              hint="Pause when more fail than this."
              error={errors.failureBudgetPercent}
            >
              <Input
                name="failureBudgetPercent"
                type="number"
                min={0}
                max={100}
                step={1}
                defaultValue={10}
                inputMode="numeric"
                {...fieldAria('rollout-budget', errors.failureBudgetPercent, true)}
              />
            </Field>
          </div>
          <DialogFooter>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" disabled={busy}>
              {busy ? 'Starting…' : 'Start rollout'}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
