/**
 * The Gandi LiveDNS v5 DNS provider: the hosting zone's record sets, one HTTP call per change. A record set (all the
 * records of one name and type) is replaced with a single PUT, which LiveDNS applies atomically, so a name never
 * disappears while it changes (Ocim deleted and re-added records under a global lock). There is no maintained Gandi
 * client package; this is plain `fetch`.
 */
import { z } from 'zod'
import { parseAnswer } from '../parse-answer'
import { DNS_RECORD_TYPES, ProvisionerError, type DnsProvider, type DnsRecordSet, type DnsRecordType } from '../types'
import {
  RECORD_NAME_PATTERN,
  nextLink,
  normalizeRecordName,
  normalizeZone,
  pathSegment,
  quoteTxt,
  retryAfterMs,
  unquoteTxt,
} from './gandi-wire'

export interface GandiDnsOptions {
  /** Base URL of the LiveDNS API, ending in /v5/livedns (config GANDI_API_URL). */
  baseUrl: string
  /** A personal access token with LiveDNS rights on `zone` (sent as `Authorization: Bearer`). */
  token: string
  /** The zone (a domain on the Gandi account), e.g. "hosting.example.net". */
  zone: string
  /** Per request. Default 10 s. */
  timeoutMs?: number
  /** The fetch to use (tests, proxies). Default: the global one. */
  fetch?: typeof fetch
  /**
   * A 429 whose Retry-After is at most this long is waited for and tried once more inside the call; a longer one is
   * left to the caller's job (it reads `retryAfterMs`). Default 5000; 0 turns the inline retry off.
   */
  inlineRetryMaxWaitMs?: number
}

const PROVIDER = 'Gandi'
const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_INLINE_RETRY_MAX_WAIT_MS = 5_000
/** Far more than any zone we manage needs: guards against a server whose Link header loops. */
const MAX_PAGES = 1000

/** What callers hand to `replace`, checked before any request so a bad input never reaches the API. */
const ZDnsRecordSet = z.object({
  name: z.string().regex(RECORD_NAME_PATTERN, 'must be "@" or a name relative to the zone, e.g. "acme", "*.acme", "_acme-challenge.acme"'),
  type: z.enum(DNS_RECORD_TYPES),
  ttl: z.number().int().min(300, 'LiveDNS takes 300 s at least').max(2_592_000, 'LiveDNS takes 30 days at most'),
  values: z.array(z.string().min(1)).min(1, 'a record set has one value at least: remove() deletes a set'),
})

// Only the fields the adapter reads; LiveDNS sends more (rrset_href...).
const ZRrset = z.looseObject({
  rrset_name: z.string(),
  rrset_type: z.string(),
  rrset_ttl: z.number().optional(),
  rrset_values: z.array(z.string()),
})
const ZDomain = z.looseObject({ fqdn: z.string() })
/** Gandi's error body: `{code, message, object, cause, errors?: [{location, name, description}]}`. */
const ZErrorBody = z.looseObject({
  code: z.number().optional(),
  message: z.string().optional(),
  cause: z.string().optional(),
  errors: z
    .array(z.looseObject({ location: z.string().optional(), name: z.string().optional(), description: z.string().optional() }))
    .optional(),
})

/** Gandi's default TTL (3 hours), for a set read without one. */
const GANDI_DEFAULT_TTL = 10_800

type Method = 'GET' | 'PUT' | 'DELETE'

interface Answer {
  status: number
  text: string
  headers: Headers
}

function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause
  return cause instanceof Error && cause.message ? `${err.message} (${cause.message})` : err.message
}

const isManagedType = (type: string): type is DnsRecordType => (DNS_RECORD_TYPES as readonly string[]).includes(type)

export function createGandiDns(options: GandiDnsOptions): DnsProvider {
  const zone = normalizeZone(options.zone)
  const base = options.baseUrl.replace(/\/+$/, '')
  const origin = new URL(base).origin
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const inlineMaxWait = options.inlineRetryMaxWaitMs ?? DEFAULT_INLINE_RETRY_MAX_WAIT_MS
  const doFetch = options.fetch ?? fetch
  const token = options.token
  if (!token) throw new ProvisionerError(PROVIDER, 'configure', 'no personal access token is set (GANDI_TOKEN)')
  if (!zone) throw new ProvisionerError(PROVIDER, 'configure', 'no zone is set (HOSTING_ZONE)')

  const domainPath = `/domains/${pathSegment(zone)}`
  const setPath = (name: string, type: DnsRecordType) => `${domainPath}/records/${pathSegment(name)}/${type}`

  /** The token never appears in anything we say, even if a proxy echoed the request. */
  const redact = (text: string) => text.replaceAll(token, '[redacted]')

  function apiDetail(answer: Answer): { message: string; errors: string[]; unknownDomain: boolean } {
    try {
      const body = ZErrorBody.safeParse(JSON.parse(answer.text))
      if (body.success) {
        const errors = (body.data.errors ?? [])
          .map((e) => [e.name, e.description].filter(Boolean).join(': '))
          .filter((text) => text !== '')
          .map(redact)
        const message = redact(body.data.message ?? body.data.cause ?? '')
        return { message, errors, unknownDomain: /unknown domain/i.test(message) }
      }
    } catch {
      // not JSON (a proxy's error page): fall through
    }
    return { message: redact(answer.text.trim().replace(/\s+/g, ' ').slice(0, 300)), errors: [], unknownDomain: false }
  }

  // The API's own words follow, so that a 404 from somewhere else (a GANDI_API_URL with a wrong path) shows as such.
  const zoneMissing = (operation: string, suffix = '') =>
    new ProvisionerError(PROVIDER, operation, `the zone ${zone} is not on this Gandi account (or not using LiveDNS)${suffix}`)

  function statusError(operation: string, what: string, answer: Answer): ProvisionerError {
    const { message, errors } = apiDetail(answer)
    const detail = errors.length > 0 ? errors.join('; ') : message
    const suffix = detail ? ` (${detail})` : ''
    const wait = retryAfterMs(answer.headers.get('retry-after'))
    switch (answer.status) {
      case 400:
        return new ProvisionerError(PROVIDER, operation, `${what}: the API refused the request: ${detail || 'HTTP 400'}`)
      case 401:
        return new ProvisionerError(PROVIDER, operation, `Gandi refused the personal access token (HTTP 401): check GANDI_TOKEN${suffix}`)
      case 403:
        return new ProvisionerError(
          PROVIDER,
          operation,
          `the personal access token has no rights on the zone ${zone} (HTTP 403): give it the right to manage this domain's technical configuration (LiveDNS)${suffix}`,
        )
      case 404:
        // Every call that expects a record set to be absent accepts 404 itself; any other 404 is about the domain.
        return zoneMissing(operation, suffix)
      case 409:
        return new ProvisionerError(PROVIDER, operation, `${what}: conflict (HTTP 409)${suffix}`)
      case 429:
        return new ProvisionerError(PROVIDER, operation, `rate limited by the API (HTTP 429)${suffix}`, true, { retryAfterMs: wait })
    }
    const retryable = answer.status >= 500
    return new ProvisionerError(PROVIDER, operation, `${what}: HTTP ${answer.status}${suffix}`, retryable, { retryAfterMs: wait })
  }

  async function send(operation: string, method: Method, url: string, body: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      const response = await doFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      })
      return { status: response.status, text: await response.text(), headers: response.headers }
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
        throw new ProvisionerError(PROVIDER, operation, `no answer from the LiveDNS API at ${base} within ${timeoutMs} ms`, true, {
          cause: err,
        })
      throw new ProvisionerError(PROVIDER, operation, `cannot reach the LiveDNS API at ${base}: ${redact(errorMessage(err))}`, true, {
        cause: err,
      })
    }
  }

  /**
   * Every LiveDNS call goes through here: timeout, token, status check, errors that name the operation. Every call the
   * adapter makes is idempotent (GET, PUT, DELETE), so a short rate-limit pause is waited out once here.
   */
  async function call(
    operation: string,
    what: string,
    method: Method,
    url: string,
    opts: { body?: unknown; accept: readonly number[] },
  ): Promise<Answer> {
    let answer = await send(operation, method, url, opts.body)
    if (answer.status === 429 && inlineMaxWait > 0) {
      const wait = retryAfterMs(answer.headers.get('retry-after'))
      if (wait !== undefined && wait <= inlineMaxWait) {
        await new Promise((resolve) => setTimeout(resolve, wait))
        answer = await send(operation, method, url, opts.body)
      }
    }
    if (!opts.accept.includes(answer.status)) throw statusError(operation, what, answer)
    return answer
  }

  /** Our form of a set LiveDNS answered; null for types Tenon does not manage (MX, NS, SOA...). */
  function toRecordSet(rrset: z.infer<typeof ZRrset>): DnsRecordSet | null {
    const type = rrset.rrset_type.toUpperCase()
    if (!isManagedType(type)) return null
    return {
      name: normalizeRecordName(rrset.rrset_name),
      type,
      ttl: rrset.rrset_ttl ?? GANDI_DEFAULT_TTL,
      values: type === 'TXT' ? rrset.rrset_values.map(unquoteTxt) : rrset.rrset_values,
    }
  }

  /** Checks a name before it goes into a URL, so a caller's typo never addresses another record (or path). */
  function checkedName(operation: string, name: string): string {
    const normalized = normalizeRecordName(name)
    if (!RECORD_NAME_PATTERN.test(normalized))
      throw new ProvisionerError(
        PROVIDER,
        operation,
        `"${name}" is not a record name relative to ${zone} (e.g. "@", "acme", "*.acme", "_acme-challenge.acme")`,
      )
    return normalized
  }

  function checkedType(operation: string, type: string): DnsRecordType {
    if (!isManagedType(type)) throw new ProvisionerError(PROVIDER, operation, `record type ${type} is not one Tenon manages`)
    return type
  }

  return {
    zone,

    async get(name, type) {
      const operation = 'get record set'
      const rrName = checkedName(operation, name)
      const rrType = checkedType(operation, type)
      const what = `${rrName} ${rrType}`
      const answer = await call(operation, what, 'GET', base + setPath(rrName, rrType), { accept: [200, 404] })
      if (answer.status === 404) {
        // LiveDNS answers 404 both for a missing set and for a domain it does not know: only the first means "none".
        if (apiDetail(answer).unknownDomain) throw statusError(operation, what, answer)
        return null
      }
      const rrset = parseAnswer(PROVIDER, operation, ZRrset, answer.text, 'the LiveDNS API')
      return toRecordSet(rrset)
    },

    async replace(set) {
      const operation = 'replace record set'
      const parsed = ZDnsRecordSet.safeParse({ ...set, name: normalizeRecordName(set.name) })
      if (!parsed.success) throw new ProvisionerError(PROVIDER, operation, `invalid record set: ${z.prettifyError(parsed.error)}`)
      const { name, type, ttl, values } = parsed.data
      const rrsetValues = type === 'TXT' ? values.map(quoteTxt) : values
      // PUT creates or replaces the whole set in one step (POST would answer 409 for an existing set).
      await call(operation, `${name} ${type}`, 'PUT', base + setPath(name, type), {
        body: { rrset_values: rrsetValues, rrset_ttl: ttl },
        accept: [200, 201],
      })
    },

    async remove(name, type) {
      const operation = 'remove record set'
      const rrName = checkedName(operation, name)
      const rrType = checkedType(operation, type)
      const what = `${rrName} ${rrType}`
      const answer = await call(operation, what, 'DELETE', base + setPath(rrName, rrType), { accept: [200, 204, 404] })
      if (answer.status === 404 && apiDetail(answer).unknownDomain) throw statusError(operation, what, answer)
    },

    async list() {
      const operation = 'list record sets'
      const sets: DnsRecordSet[] = []
      const seen = new Set<string>()
      let url: string | undefined = `${base}${domainPath}/records`
      for (let page = 0; url !== undefined; page++) {
        if (page >= MAX_PAGES || seen.has(url))
          throw new ProvisionerError(PROVIDER, operation, 'the API kept answering more pages (its Link header loops)', true)
        seen.add(url)
        const answer: Answer = await call(operation, zone, 'GET', url, { accept: [200] })
        for (const rrset of parseAnswer(PROVIDER, operation, z.array(ZRrset), answer.text, 'the LiveDNS API')) {
          const set = toRecordSet(rrset)
          if (set) sets.push(set)
        }
        const next = nextLink(answer.headers.get('link'), url)
        // Only follow pages on the API's own origin: the token goes with every request.
        if (next !== undefined && new URL(next).origin !== origin)
          throw new ProvisionerError(PROVIDER, operation, `the API pointed the next page at another host (${new URL(next).host})`)
        url = next
      }
      return sets
    },

    async testConnection() {
      const operation = 'test connection'
      const answer = await call(operation, zone, 'GET', base + domainPath, { accept: [200] })
      const domain = parseAnswer(PROVIDER, operation, ZDomain, answer.text, 'the LiveDNS API')
      if (normalizeZone(domain.fqdn) !== zone)
        throw new ProvisionerError(PROVIDER, operation, `the API answered for ${domain.fqdn} when asked for ${zone}`)
    },
  }
}
