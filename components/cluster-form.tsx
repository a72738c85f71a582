'use client'

import { Pencil, Plus } from 'lucide-react'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import type { TCluster } from '@/lib/clusters/schemas'
import type { ResourceKind } from '@/provisioners/types'
import { api, splitErrors } from './api-client'
import { ZCreatedResource } from './api-schemas'
import { CONNECTION_FIELDS, type ConnectionDefaults, type ConnectionField } from './cluster-fields'
import { RESOURCE_KIND_LABEL, RESOURCE_KIND_ORDER } from './resource-kinds'
import { Alert } from './ui/alert'
import { Button } from './ui/button'
import { Checkbox } from './ui/checkbox'
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogTitle, DialogTrigger } from './ui/dialog'
import { Field, FieldError, fieldAria } from './ui/field'
import { Input } from './ui/input'
import { Label } from './ui/label'
import { Select } from './ui/select'

type Values = Record<string, string | boolean>

type Props = { defaults: ConnectionDefaults } & ({ mode: 'create' } | { mode: 'edit'; cluster: TCluster })

const isKind = (v: string): v is ResourceKind => RESOURCE_KIND_ORDER.some((k) => k === v)

/** The form's values for a kind: the stored settings when editing (secrets blank: blank keeps them), else the API's defaults. */
function initialValues(kind: ResourceKind, defaults: ConnectionDefaults, cluster?: TCluster): Values {
  const values: Values = {}
  for (const f of CONNECTION_FIELDS[kind]) {
    const stored = cluster?.connection[f.key]
    const fallback = defaults[kind][f.key]
    if (f.input === 'boolean') values[f.key] = typeof stored === 'boolean' ? stored : fallback === true
    else if (f.input === 'secret') values[f.key] = ''
    else if (typeof stored === 'string' || typeof stored === 'number') values[f.key] = String(stored)
    else values[f.key] = fallback === undefined || typeof fallback === 'boolean' ? '' : String(fallback)
  }
  return values
}

/**
 * The connection as the API takes it. Empty optional fields and empty numbers are left out (the API's default), or,
 * when editing, an empty optional field is null (cleared); a secret left empty when editing is left out, which
 * keeps the stored one.
 * Values are sent as typed, so the API's own messages say what is wrong with them.
 */
function connectionOf(fields: ConnectionField[], values: Values, editing: boolean): Record<string, unknown> {
  const connection: Record<string, unknown> = {}
  for (const f of fields) {
    const v = values[f.key]
    if (f.input === 'boolean') {
      connection[f.key] = v === true
      continue
    }
    const s = typeof v === 'string' ? (f.input === 'secret' ? v : v.trim()) : ''
    if (f.input === 'secret') {
      if (s || !editing) connection[f.key] = s
    } else if (s === '') {
      // Editing: an emptied optional field is sent as null, which clears the stored value.
      if (f.optional && editing) connection[f.key] = null
      else if (!f.optional && f.input !== 'number') connection[f.key] = s
    } else {
      connection[f.key] = f.input === 'number' && /^\d+$/.test(s) ? Number(s) : s
    }
  }
  return connection
}

/**
 * Register a shared cluster, or edit one: the kind's connection settings (secrets write-only), whether new
 * instances are placed on it, and a connection test before anything is saved (on by default). The API's field
 * errors are shown next to their fields, its message on top; the dialog stays open until the API accepts.
 */
export function ClusterFormDialog(props: Props) {
  const router = useRouter()
  const editing = props.mode === 'edit' ? props.cluster : undefined
  const [open, setOpen] = useState(false)
  const [kind, setKind] = useState<ResourceKind>(editing?.kind ?? 'mysql')
  const [name, setName] = useState(editing?.name ?? '')
  const [acceptsNew, setAcceptsNew] = useState(editing?.acceptsNew ?? true)
  const [testConnection, setTestConnection] = useState(true)
  const [values, setValues] = useState<Values>(() => initialValues(kind, props.defaults, editing))
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const fields = CONNECTION_FIELDS[kind]

  const reset = () => {
    const k = editing?.kind ?? 'mysql'
    setKind(k)
    setName(editing?.name ?? '')
    setAcceptsNew(editing?.acceptsNew ?? true)
    setTestConnection(true)
    setValues(initialValues(k, props.defaults, editing))
    setErrors({})
    setMessage(null)
  }

  const chooseKind = (value: string) => {
    if (!isKind(value)) return
    setKind(value)
    setValues(initialValues(value, props.defaults))
    setErrors({})
    setMessage(null)
  }

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    const connection = connectionOf(fields, values, editing !== undefined)
    let body: Record<string, unknown>
    let path: string
    if (editing) {
      const before = initialValues(kind, props.defaults, editing)
      const changed = fields.some((f) => (f.input === 'secret' ? values[f.key] !== '' : values[f.key] !== before[f.key]))
      path = `/api/v1/clusters/${editing.id}`
      body = {
        version: editing.version,
        ...(name.trim() !== editing.name ? { name: name.trim() } : {}),
        ...(acceptsNew !== editing.acceptsNew ? { acceptsNew } : {}),
        ...(changed ? { connection } : {}),
        testConnection,
      }
    } else {
      path = '/api/v1/clusters'
      body = { kind, name: name.trim(), acceptsNew, testConnection, connection }
    }
    setBusy(true)
    setMessage(null)
    const result = editing ? await api('PATCH', path, body) : await api('POST', path, body, ZCreatedResource)
    setBusy(false)
    if (!result.ok) {
      const split = splitErrors(result.error, ['kind', 'name', 'acceptsNew', 'connection', ...fields.map((f) => `connection.${f.key}`)])
      setErrors(split.fields)
      setMessage(result.error.message)
      return
    }
    setOpen(false)
    router.refresh()
  }

  const set = (key: string, value: string | boolean) => setValues((v) => ({ ...v, [key]: value }))
  const title = editing ? `Edit ${editing.name}` : 'Register cluster'

  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        setOpen(o)
        if (o) reset()
      }}
    >
      <DialogTrigger asChild>
        {editing ? (
          <Button variant="ghost" size="sm" aria-label={`Edit ${editing.name}`}>
            <Pencil aria-hidden /> Edit
          </Button>
        ) : (
          <Button>
            <Plus aria-hidden /> Register cluster
          </Button>
        )}
      </DialogTrigger>
      <DialogContent className="top-[6vh] max-h-[88vh] max-w-2xl overflow-y-auto">
        <DialogTitle>{title}</DialogTitle>
        <DialogDescription>
          {editing
            ? 'Resources already placed on it stay where they are; when its settings change they are checked again (then redeploy their instances). Leave a secret empty to keep the stored one.'
            : 'A shared server new instances get their own database, vhost or bucket on. Secrets are stored encrypted and never shown again.'}
        </DialogDescription>
        <form onSubmit={submit} noValidate className="mt-4 space-y-4" aria-label={title}>
          {message ? (
            <Alert variant="error" data-testid="cluster-form-error">
              {message}
            </Alert>
          ) : null}
          <div className="grid gap-3 sm:grid-cols-2">
            <Field id="cluster-kind" label="Kind" error={errors.kind}>
              <Select
                value={kind}
                onChange={(e) => chooseKind(e.target.value)}
                disabled={editing !== undefined}
                {...fieldAria('cluster-kind', errors.kind)}
              >
                {RESOURCE_KIND_ORDER.map((k) => (
                  <option key={k} value={k}>
                    {RESOURCE_KIND_LABEL[k]}
                  </option>
                ))}
              </Select>
            </Field>
            <Field id="cluster-name" label="Name" hint="Lowercase letters, digits and dashes, e.g. mysql-gra-1." error={errors.name}>
              <Input
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="off"
                spellCheck={false}
                className="font-mono"
                {...fieldAria('cluster-name', errors.name, true)}
              />
            </Field>
          </div>

          <fieldset
            className="space-y-3 rounded-md border border-neutral-200 p-3"
            aria-describedby={errors.connection ? 'cluster-connection-error' : undefined}
          >
            <legend className="px-1 text-xs font-medium text-neutral-600">{RESOURCE_KIND_LABEL[kind]} connection</legend>
            {errors.connection ? <FieldError id="cluster-connection-error">{errors.connection}</FieldError> : null}
            <div className="grid gap-3 sm:grid-cols-2">
              {fields
                .filter((f) => f.input !== 'boolean')
                .map((f) => {
                  const id = `cluster-${f.key}`
                  const error = errors[`connection.${f.key}`]
                  const hint = f.input === 'secret' && editing ? 'Leave empty to keep the stored one.' : f.hint
                  const value = values[f.key]
                  return (
                    <Field
                      key={f.key}
                      id={id}
                      label={
                        <>
                          {f.label}
                          {f.optional ? <span className="font-normal text-neutral-500"> (optional)</span> : null}
                        </>
                      }
                      hint={hint}
                      error={error}
                    >
                      <Input
                        type={f.input === 'secret' ? 'password' : 'text'}
                        inputMode={f.input === 'number' ? 'numeric' : undefined}
                        value={typeof value === 'string' ? value : ''}
                        onChange={(e) => set(f.key, e.target.value)}
                        placeholder={f.input === 'secret' && editing ? '••••••••' : f.placeholder}
                        autoComplete={f.input === 'secret' ? 'new-password' : 'off'}
                        spellCheck={false}
                        className={f.input === 'secret' ? undefined : 'font-mono'}
                        {...fieldAria(id, error, hint !== undefined)}
                      />
                    </Field>
                  )
                })}
            </div>
            {fields
              .filter((f) => f.input === 'boolean')
              .map((f) => {
                const id = `cluster-${f.key}`
                const error = errors[`connection.${f.key}`]
                return (
                  <div key={f.key} className="flex items-start gap-2.5">
                    <Checkbox
                      id={id}
                      checked={values[f.key] === true}
                      onCheckedChange={(checked) => set(f.key, checked === true)}
                      aria-describedby={error ? `${id}-error` : f.hint ? `${id}-hint` : undefined}
                    />
                    <div className="leading-tight">
                      <Label htmlFor={id}>{f.label}</Label>
                      {f.hint ? (
                        <p id={`${id}-hint`} className="text-xs text-neutral-500">
                          {f.hint}
                        </p>
                      ) : null}
                      {error ? <FieldError id={`${id}-error`}>{error}</FieldError> : null}
                    </div>
                  </div>
                )
              })}
          </fieldset>

          <div className="space-y-2.5">
            <div className="flex items-start gap-2.5">
              <Checkbox id="cluster-accepts-new" checked={acceptsNew} onCheckedChange={(c) => setAcceptsNew(c === true)} />
              <div className="leading-tight">
                <Label htmlFor="cluster-accepts-new">Accepts new instances</Label>
                <p className="text-xs text-neutral-500">
                  New instances are placed on the least-loaded cluster of their kind that accepts them.
                </p>
              </div>
            </div>
            <div className="flex items-start gap-2.5">
              <Checkbox id="cluster-test-connection" checked={testConnection} onCheckedChange={(c) => setTestConnection(c === true)} />
              <div className="leading-tight">
                <Label htmlFor="cluster-test-connection">Test the connection first</Label>
                <p className="text-xs text-neutral-500">
                  Nothing is saved unless Tenon can log in with these settings and has the rights it needs.
                </p>
              </div>
            </div>
          </div>

          <DialogFooter>
            <DialogClose asChild>
              <Button variant="secondary">Cancel</Button>
            </DialogClose>
            <Button type="submit" disabled={busy}>
              {busy ? (testConnection ? 'Testing…' : 'Saving…') : editing ? 'Save changes' : 'Register cluster'}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  )
}
