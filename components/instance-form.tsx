'use client'

import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { api, splitErrors } from './api-client'
import { ZCreatedResource, ZSlugSuggestion } from './api-schemas'
import type { FeatureOption } from './blueprint-meta'
import { valuesFromInstance, type InstanceFormValues } from './instance-values'
import { Alert } from './ui/alert'
import { Button, buttonVariants } from './ui/button'
import { Card, CardContent, CardHeader, CardTitle } from './ui/card'
import { Checkbox } from './ui/checkbox'
import { Field, FieldError, fieldAria } from './ui/field'
import { Input } from './ui/input'
import { Label } from './ui/label'
import { Select } from './ui/select'
import { Textarea } from './ui/textarea'

interface EditTarget {
  id: string
  version: number
  values: InstanceFormValues
}

interface CommonProps {
  releases: string[]
  features: FeatureOption[]
  hostingZone: string
}

type Props =
  | (CommonProps & {
      mode: 'create'
      organizations: { id: string; name: string }[]
      blueprints: { id: string; label: string }[]
      defaultOrganizationId?: string
    })
  | (CommonProps & { mode: 'edit'; instance: EditTarget; slug: string })

const FIELDS = [
  'organizationId',
  'name',
  'slug',
  'blueprint',
  'settings.release',
  'settings.platformName',
  'settings.contactEmail',
  'settings.features',
  'extraSettings',
] as const

type SlugState = { state: 'idle' | 'checking' } | { state: 'ok' } | { state: 'problem'; message: string }

/** Create an instance, or edit one (with optimistic concurrency: a stale version shows what changed). */
export function InstanceForm(props: Props) {
  const router = useRouter()
  const initial: InstanceFormValues =
    props.mode === 'edit'
      ? props.instance.values
      : {
          name: '',
          release: props.releases[props.releases.length - 1] ?? '',
          platformName: '',
          contactEmail: '',
          features: Object.fromEntries(props.features.map((f) => [f.key, f.defaultValue])),
          extraSettings: '',
        }
  const [values, setValues] = useState<InstanceFormValues>(initial)
  const [version, setVersion] = useState(props.mode === 'edit' ? props.instance.version : 0)
  const [organizationId, setOrganizationId] = useState(props.mode === 'create' ? (props.defaultOrganizationId ?? '') : '')
  const [blueprint, setBlueprint] = useState(props.mode === 'create' ? (props.blueprints[0]?.id ?? 'openedx') : '')
  const [slug, setSlug] = useState(props.mode === 'edit' ? props.slug : '')
  const [slugEdited, setSlugEdited] = useState(false)
  const [slugState, setSlugState] = useState<SlugState>({ state: 'idle' })
  const [platformNameEdited, setPlatformNameEdited] = useState(props.mode === 'edit')
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [message, setMessage] = useState<string | null>(null)
  const [conflict, setConflict] = useState<{ version: number; values: InstanceFormValues } | null>(null)
  const [busy, setBusy] = useState(false)
  const slugRequest = useRef(0)

  const set = <K extends keyof InstanceFormValues>(key: K, value: InstanceFormValues[K]) => setValues((v) => ({ ...v, [key]: value }))

  // Live slug preview: the suggestion for the typed name, or a check of the slug staff typed themselves.
  const slugTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(
    () => () => {
      if (slugTimer.current) clearTimeout(slugTimer.current)
    },
    [],
  )
  const previewSlug = (input: { name: string } | { slug: string }) => {
    if (slugTimer.current) clearTimeout(slugTimer.current)
    const request = ++slugRequest.current
    if ('name' in input && !input.name.trim()) {
      setSlug('')
      setSlugState({ state: 'idle' })
      return
    }
    setSlugState({ state: 'checking' })
    const query = 'slug' in input ? `slug=${encodeURIComponent(input.slug)}` : `name=${encodeURIComponent(input.name)}`
    slugTimer.current = setTimeout(async () => {
      const result = await api('GET', `/api/v1/instances/slug-suggestion?${query}`, undefined, ZSlugSuggestion)
      if (request !== slugRequest.current) return
      if (!result.ok) return setSlugState({ state: 'problem', message: result.error.message })
      if ('name' in input) setSlug(result.data.slug)
      setSlugState(
        result.data.problem || !result.data.available
          ? { state: 'problem', message: result.data.problem ?? 'is already taken' }
          : { state: 'ok' },
      )
    }, 250)
  }

  const settings = () => ({
    release: values.release,
    platformName: values.platformName,
    contactEmail: values.contactEmail,
    features: values.features,
  })

  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault()
    setBusy(true)
    setMessage(null)
    const result =
      props.mode === 'create'
        ? await api(
            'POST',
            '/api/v1/instances',
            {
              organizationId,
              name: values.name,
              slug,
              blueprint,
              settings: settings(),
              extraSettings: values.extraSettings,
            },
            ZCreatedResource,
          )
        : await api(
            'PATCH',
            `/api/v1/instances/${props.instance.id}`,
            {
              version,
              name: values.name,
              settings: settings(),
              extraSettings: values.extraSettings,
            },
            ZCreatedResource,
          )
    if (result.ok) {
      router.push(`/instances/${result.data.id}`)
      router.refresh()
      return
    }
    setBusy(false)
    const error = result.error
    if (error.status === 409 && props.mode === 'edit') {
      const current = valuesFromInstance(error.current, props.features)
      if (current) {
        setConflict(current)
        setErrors({})
        return
      }
    }
    const normalized = {
      ...error,
      fields: error.fields.map((f) => (f.field.startsWith('settings.features.') ? { ...f, field: 'settings.features' } : f)),
    }
    const split = splitErrors(normalized, FIELDS)
    setErrors(split.fields)
    setMessage(split.message ?? (Object.keys(split.fields).length ? 'Some fields need attention.' : null))
  }

  // A save refused with 409, or (with live updates) a newer version the page was refreshed with while editing.
  const newer =
    conflict ??
    (props.mode === 'edit' && props.instance.version > version ? { version: props.instance.version, values: props.instance.values } : null)
  const loadCurrent = () => {
    if (!newer) return
    setValues(newer.values)
    setVersion(newer.version)
    setConflict(null)
  }
  const keepMine = () => {
    if (!newer) return
    setVersion(newer.version)
    setConflict(null)
  }

  const err = (k: (typeof FIELDS)[number]) => errors[k]
  const cancelHref = props.mode === 'edit' ? `/instances/${props.instance.id}` : '/instances'

  return (
    <form
      onSubmit={submit}
      noValidate
      className="max-w-3xl space-y-5"
      aria-label={props.mode === 'create' ? 'New instance' : 'Edit instance'}
    >
      {newer ? (
        <Alert variant="warning" title="This instance was changed by someone else" data-testid="conflict">
          <p>
            Its current values are below. Load them (your changes are discarded), or keep your changes and save again to replace theirs.
          </p>
          <dl className="mt-2 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-0.5 text-xs">
            <dt className="font-medium">Name</dt>
            <dd>{newer.values.name}</dd>
            <dt className="font-medium">Release</dt>
            <dd>{newer.values.release}</dd>
            <dt className="font-medium">Platform name</dt>
            <dd>{newer.values.platformName}</dd>
            <dt className="font-medium">Contact email</dt>
            <dd>{newer.values.contactEmail}</dd>
            <dt className="font-medium">Features</dt>
            <dd>
              {Object.entries(newer.values.features)
                .filter(([, on]) => on)
                .map(([k]) => props.features.find((f) => f.key === k)?.label ?? k)
                .join(', ') || 'none'}
            </dd>
          </dl>
          <div className="mt-3 flex gap-2">
            <Button size="sm" onClick={loadCurrent}>
              Load current values
            </Button>
            <Button size="sm" variant="secondary" onClick={keepMine}>
              Keep my changes
            </Button>
          </div>
        </Alert>
      ) : null}
      {message ? <Alert variant="error">{message}</Alert> : null}

      <Card>
        <CardHeader>
          <CardTitle>Instance</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 sm:grid-cols-2">
          {props.mode === 'create' ? (
            <Field id="organizationId" label="Organization" error={err('organizationId')} className="sm:col-span-2">
              <Select
                name="organizationId"
                value={organizationId}
                onChange={(e) => setOrganizationId(e.target.value)}
                required
                {...fieldAria('organizationId', err('organizationId'))}
              >
                <option value="" disabled>
                  Choose an organization…
                </option>
                {props.organizations.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </Select>
            </Field>
          ) : null}
          <Field id="name" label="Name" error={err('name')}>
            <Input
              name="name"
              value={values.name}
              autoComplete="off"
              required
              onChange={(e) => {
                const name = e.target.value
                setValues((v) => ({ ...v, name, platformName: platformNameEdited ? v.platformName : name }))
                if (props.mode === 'create' && !slugEdited) previewSlug({ name })
              }}
              {...fieldAria('name', err('name'))}
            />
          </Field>
          {props.mode === 'create' ? (
            <Field
              id="slug"
              label="Slug"
              error={err('slug') ?? (slugState.state === 'problem' ? `Slug ${slugState.message}` : undefined)}
              hint={
                slugState.state === 'checking' ? (
                  'Checking…'
                ) : slug ? (
                  <>
                    Served at <span className="font-mono text-neutral-700">{`${slug}.${props.hostingZone}`}</span>
                  </>
                ) : (
                  'Filled in from the name; you can change it.'
                )
              }
            >
              <Input
                name="slug"
                value={slug}
                autoComplete="off"
                spellCheck={false}
                className="font-mono"
                onChange={(e) => {
                  const typed = e.target.value.toLowerCase()
                  setSlugEdited(true)
                  setSlug(typed)
                  previewSlug({ slug: typed })
                }}
                {...fieldAria('slug', err('slug') ?? (slugState.state === 'problem' ? slugState.message : undefined), true)}
              />
            </Field>
          ) : (
            <div className="space-y-1.5">
              <Label htmlFor="slug-readonly">Slug</Label>
              <Input id="slug-readonly" value={props.slug} readOnly disabled className="font-mono" />
              <p className="text-xs text-neutral-500">The slug is the hostname and cannot change.</p>
            </div>
          )}
          {props.mode === 'create' ? (
            <Field id="blueprint" label="Blueprint" error={err('blueprint')}>
              <Select
                name="blueprint"
                value={blueprint}
                onChange={(e) => setBlueprint(e.target.value)}
                {...fieldAria('blueprint', err('blueprint'))}
              >
                {props.blueprints.map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.label}
                  </option>
                ))}
              </Select>
            </Field>
          ) : null}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Open edX settings</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 sm:grid-cols-2">
          <Field id="release" label="Release" error={err('settings.release')}>
            <Select
              name="release"
              value={values.release}
              onChange={(e) => set('release', e.target.value)}
              {...fieldAria('release', err('settings.release'))}
            >
              {props.releases.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
          </Field>
          <Field
            id="platformName"
            label="Platform name"
            hint="Shown to learners. Defaults to the instance name."
            error={err('settings.platformName')}
          >
            <Input
              name="platformName"
              value={values.platformName}
              onChange={(e) => {
                setPlatformNameEdited(true)
                set('platformName', e.target.value)
              }}
              {...fieldAria('platformName', err('settings.platformName'), true)}
            />
          </Field>
          <Field
            id="contactEmail"
            label="Contact email"
            hint="Where learners write for support."
            error={err('settings.contactEmail') && `Contact email ${err('settings.contactEmail')}`}
          >
            <Input
              name="contactEmail"
              type="email"
              value={values.contactEmail}
              onChange={(e) => set('contactEmail', e.target.value)}
              {...fieldAria('contactEmail', err('settings.contactEmail'), true)}
            />
          </Field>
          <fieldset className="space-y-2.5 sm:col-span-2">
            <legend className="mb-2 text-sm font-medium text-neutral-800">Features</legend>
            {props.features.map((f) => (
              <div key={f.key} className="flex items-start gap-2.5">
                <Checkbox
                  id={`feature-${f.key}`}
                  name={`features.${f.key}`}
                  checked={values.features[f.key] ?? false}
                  onCheckedChange={(checked) => set('features', { ...values.features, [f.key]: checked === true })}
                  aria-describedby={`feature-${f.key}-description`}
                />
                <div className="leading-tight">
                  <Label htmlFor={`feature-${f.key}`}>{f.label}</Label>
                  <p id={`feature-${f.key}-description`} className="text-xs text-neutral-500">
                    {f.description}
                  </p>
                </div>
              </div>
            ))}
            {err('settings.features') ? <FieldError>{err('settings.features')}</FieldError> : null}
          </fieldset>
          <Field
            id="extraSettings"
            label="Extra settings (YAML)"
            hint="Free-form key: value lines passed to the platform as written. Leave empty for none."
            error={err('extraSettings')}
            className="sm:col-span-2"
          >
            <Textarea
              name="extraSettings"
              rows={8}
              spellCheck={false}
              value={values.extraSettings}
              placeholder={'# e.g.\nLANGUAGE_CODE: fr'}
              onChange={(e) => set('extraSettings', e.target.value)}
              {...fieldAria('extraSettings', err('extraSettings'), true)}
            />
          </Field>
        </CardContent>
      </Card>

      <div className="flex gap-2">
        <Button type="submit" disabled={busy}>
          {busy ? 'Saving…' : props.mode === 'create' ? 'Create instance' : 'Save changes'}
        </Button>
        <Link href={cancelHref} className={buttonVariants({ variant: 'secondary' })}>
          Cancel
        </Link>
      </div>
    </form>
  )
}
