'use client'

import { Upload } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { Tabs } from 'radix-ui'
import { useState } from 'react'
import { api, splitErrors } from './api-client'
import { bytesToBase64 } from './base64'
import { ZUploadedCertificate } from './domain-schemas'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { cn } from './ui/cn'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Field, fieldAria } from './ui/field'
import { Input } from './ui/input'
import { Textarea } from './ui/textarea'

/** The fields the API names in its 400 answer (lib/certificates/upload-problems.ts), and "format" for the body itself. */
const FIELDS = ['certificate', 'chain', 'privateKey', 'bundle', 'password'] as const
type UploadField = (typeof FIELDS)[number]
type Format = 'pem' | 'pkcs12'

/** The API refuses anything larger (MAX_UPLOAD_BYTES); said here before the file is sent. */
const MAX_BYTES = 64 * 1024

const tabClass =
  'rounded-md px-3 py-1.5 text-sm font-medium text-neutral-600 hover:text-neutral-900 focus-visible:outline-2 focus-visible:outline-blue-600 data-[state=active]:bg-white data-[state=active]:text-neutral-900 data-[state=active]:shadow-xs'

const fileClass =
  'block w-full text-xs text-neutral-600 file:mr-2 file:rounded-md file:border file:border-neutral-300 file:bg-white file:px-2.5 file:py-1 file:text-xs file:font-medium file:text-neutral-900 hover:file:bg-neutral-100'

/** A PEM text area that can also be filled from a file (a .pem, .crt or .key file is text). */
function PemField({
  id,
  field,
  label,
  hint,
  value,
  onChange,
  error,
  onFileError,
}: {
  id: string
  field: UploadField
  label: string
  hint: string
  value: string
  onChange: (value: string) => void
  error?: string
  onFileError: (field: UploadField, message: string) => void
}) {
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <Textarea
        name={field}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        spellCheck={false}
        autoComplete="off"
        rows={4}
        placeholder="-----BEGIN …-----"
        {...fieldAria(id, error, true)}
      />
      <input
        type="file"
        accept=".pem,.crt,.cer,.key,.txt"
        aria-label={`${label}: load from a file`}
        className={fileClass}
        onChange={async (e) => {
          const file = e.currentTarget.files?.[0]
          if (!file) return
          if (file.size > MAX_BYTES) return onFileError(field, 'is larger than 64 KiB')
          onChange(await file.text())
        }}
      />
    </Field>
  )
}

/**
 * Uploads a custom domain's own certificate: PEM (certificate, chain, key; pasted or read from files) or a PKCS#12
 * bundle (read as base64 here, in the browser) with its password. Each problem the API finds is shown next to its field.
 */
export function UploadCertificateDialog({ domainId, hostname, replacing }: { domainId: string; hostname: string; replacing: boolean }) {
  const router = useRouter()
  const [open, setOpen] = useState(false)
  const [format, setFormat] = useState<Format>('pem')
  const [pem, setPem] = useState({ certificate: '', chain: '', privateKey: '' })
  const [bundle, setBundle] = useState<{ base64: string; name: string } | null>(null)
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<Partial<Record<UploadField, string>>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const reset = () => {
    setPem({ certificate: '', chain: '', privateKey: '' })
    setBundle(null)
    setPassword('')
    setErrors({})
    setMessage(null)
  }
  const fileError = (field: UploadField, text: string) => setErrors((e) => ({ ...e, [field]: text }))
  const id = (field: UploadField) => `upload-${domainId}-${field}`

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    if (format === 'pkcs12' && !bundle) return setErrors({ bundle: 'choose the .pfx or .p12 file' })
    const body =
      format === 'pem'
        ? { format, certificate: pem.certificate, privateKey: pem.privateKey, ...(pem.chain.trim() ? { chain: pem.chain } : {}) }
        : { format, bundle: bundle?.base64 ?? '', password }
    setBusy(true)
    setMessage(null)
    const result = await api('PUT', `/api/v1/domains/${domainId}/certificate`, body, ZUploadedCertificate)
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, FIELDS)
      setErrors(split.fields)
      setMessage(split.message)
      return
    }
    setOpen(false)
    reset()
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
        <Button variant="secondary" size="sm">
          <Upload aria-hidden /> Upload certificate<span className="sr-only"> for {hostname}</span>
        </Button>
      </DialogTrigger>
      <DialogContent className="max-h-[85vh] max-w-2xl overflow-y-auto">
        <DialogTitle>Upload a certificate for {hostname}</DialogTitle>
        <DialogDescription>
          It must cover {hostname}, be valid for at least a few more days, and come with its private key (without a passphrase).
          {replacing ? ' It replaces the current certificate.' : ''} You are reminded before it expires; renewing it is up to you.
        </DialogDescription>
        <form onSubmit={submit} noValidate className="mt-4 space-y-4">
          {message ? <Alert variant="error">{message}</Alert> : null}
          <Tabs.Root
            value={format}
            onValueChange={(v) => {
              setFormat(v === 'pkcs12' ? 'pkcs12' : 'pem')
              setErrors({})
              setMessage(null)
            }}
          >
            <Tabs.List aria-label="Certificate format" className="inline-flex gap-1 rounded-lg bg-neutral-100 p-1">
              <Tabs.Trigger value="pem" className={tabClass}>
                PEM
              </Tabs.Trigger>
              <Tabs.Trigger value="pkcs12" className={tabClass}>
                PKCS#12
              </Tabs.Trigger>
            </Tabs.List>
            <Tabs.Content value="pem" className="mt-4 space-y-4 focus-visible:outline-none">
              <PemField
                id={id('certificate')}
                field="certificate"
                label="Certificate"
                hint="The certificate for the domain; its chain may follow it here."
                value={pem.certificate}
                onChange={(certificate) => setPem((p) => ({ ...p, certificate }))}
                error={errors.certificate}
                onFileError={fileError}
              />
              <PemField
                id={id('chain')}
                field="chain"
                label="Chain (optional)"
                hint="The intermediate certificates, as your certificate authority sent them."
                value={pem.chain}
                onChange={(chain) => setPem((p) => ({ ...p, chain }))}
                error={errors.chain}
                onFileError={fileError}
              />
              <PemField
                id={id('privateKey')}
                field="privateKey"
                label="Private key"
                hint="Stored encrypted, and never shown again."
                value={pem.privateKey}
                onChange={(privateKey) => setPem((p) => ({ ...p, privateKey }))}
                error={errors.privateKey}
                onFileError={fileError}
              />
            </Tabs.Content>
            <Tabs.Content value="pkcs12" className="mt-4 space-y-4 focus-visible:outline-none">
              <Field
                id={id('bundle')}
                label="PKCS#12 file (.pfx, .p12)"
                hint={bundle ? `Read ${bundle.name}.` : undefined}
                error={errors.bundle}
              >
                <input
                  type="file"
                  accept=".pfx,.p12,application/x-pkcs12"
                  className={cn(fileClass, 'text-sm')}
                  {...fieldAria(id('bundle'), errors.bundle, Boolean(bundle))}
                  onChange={async (e) => {
                    const file = e.currentTarget.files?.[0]
                    setErrors(({ bundle: _bundle, ...rest }) => rest)
                    if (!file) return setBundle(null)
                    if (file.size > MAX_BYTES) {
                      setBundle(null)
                      return fileError('bundle', 'is larger than 64 KiB')
                    }
                    setBundle({ base64: bytesToBase64(new Uint8Array(await file.arrayBuffer())), name: file.name })
                  }}
                />
              </Field>
              <Field id={id('password')} label="Password" hint="The password the bundle was exported with." error={errors.password}>
                <Input
                  type="password"
                  name="password"
                  autoComplete="off"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  {...fieldAria(id('password'), errors.password, true)}
                />
              </Field>
            </Tabs.Content>
          </Tabs.Root>
          <DialogFooter>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" disabled={busy}>
              {busy ? 'Uploading…' : 'Upload certificate'}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
