'use client'

import { Plus } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { DnsRecords } from './dns-records'
import { ZDomainsAnswer, type TDnsRecordShown } from './domain-schemas'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'

const FIELDS = ['hostname'] as const

/** How the API writes a hostname (lower case, no trailing dot), to find the one just added in its answer. */
const normalise = (hostname: string) => hostname.trim().toLowerCase().replace(/\.$/, '')

/**
 * Adds a custom domain, then shows the records to create at the client's DNS provider in the same dialog: the TXT
 * record that proves control and the CNAME that sends visitors here. The domain is checked with backoff from then on.
 */
export function AddDomainDialog({ instanceId }: { instanceId: string }) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [added, setAdded] = useState<{ hostname: string; records: TDnsRecordShown[] } | null>(null)

  const reset = () => {
    setError(undefined)
    setMessage(null)
    setAdded(null)
  }

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const hostname = String(new FormData(e.currentTarget).get('hostname') ?? '')
    setBusy(true)
    setMessage(null)
    const result = await api('POST', `/api/v1/instances/${instanceId}/domains`, { hostname }, ZDomainsAnswer)
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setError(split.fields.hostname)
      setMessage(split.message)
      return
    }
    const domains = result.data.domains
    const domain =
      domains.find((d) => d.hostname === normalise(hostname)) ?? domains.toSorted((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1)
    setError(undefined)
    if (domain) setAdded({ hostname: domain.hostname, records: domain.records })
    else setOpen(false)
    router.refresh()
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        if (!o) reset()
      }}
    >
      <DialogTrigger asChild>
        <Button variant="secondary">
          <Plus aria-hidden /> Add domain
        </Button>
      </DialogTrigger>
      <DialogContent className={added ? 'max-w-5xl' : undefined}>
        {added ? (
          <div data-testid="domain-added">
            <DialogTitle>Create these DNS records for {added.hostname}</DialogTitle>
            <DialogDescription>
              At the DNS provider of {added.hostname}. The TXT record proves you control the name: the domain is verified once it is found,
              and it is checked often at first. The CNAME sends visitors to the instance.
            </DialogDescription>
            <div className="mt-4">
              <DnsRecords records={added.records} hostname={added.hostname} />
            </div>
            <p className="mt-3 text-xs text-neutral-600">The records stay listed under the domain until it is verified.</p>
            <DialogFooter>
              <DialogClose asChild>
                <Button>Done</Button>
              </DialogClose>
            </DialogFooter>
          </div>
        ) : (
          <>
            <DialogTitle>Add a custom domain</DialogTitle>
            <DialogDescription>A hostname of your own for this instance, such as learn.example.com.</DialogDescription>
            <form onSubmit={submit} noValidate className="mt-4 space-y-4">
              {message ? <Alert variant="error">{message}</Alert> : null}
              <Field
                id="domain-hostname"
                label="Hostname"
                hint="One name, without https:// or a path. Wildcards are not supported."
                error={error}
              >
                <Input
                  name="hostname"
                  autoComplete="off"
                  spellCheck={false}
                  className="font-mono"
                  required
                  autoFocus
                  placeholder="learn.example.com"
                  {...fieldAria('domain-hostname', error, true)}
                />
              </Field>
              <DialogFooter>
                <DialogClose asChild>
                  <Button variant="secondary">Cancel</Button>
                </DialogClose>
                <Button type="submit" disabled={busy}>
                  {busy ? 'Adding…' : 'Add domain'}
                </Button>
              </DialogFooter>
            </form>
          </>
        )}
      </DialogContent>
    </Dialog>
  )
}
