/**
 * The ACME adapter: an AcmeCa for one RFC 8555 CA (Let's Encrypt; Pebble in tests) and one account, on `acme-client`.
 * acme-client signs the requests and walks the protocol; ACME Renewal Information (RFC 9773), which neither it nor
 * Pebble 2.4 implements, is done here: the `renewalInfo` GET and the `replaces` field of a new order.
 */
import { createPrivateKey } from 'node:crypto'
import https from 'node:https'
import tls from 'node:tls'
import { Client, crypto as acmeCrypto, type Authorization, type Order } from 'acme-client'
import { z } from 'zod'
import { parseAnswer } from '../parse-answer'
import {
  AcmeProblemError,
  ProvisionerError,
  type AcmeCa,
  type AcmeChallengeSolver,
  type AcmeChallengeTask,
  type AcmeOrderRequest,
  type IssuedCertificate,
  type LogSink,
  type RenewalInfo,
} from '../types'
import { CertificateChainError, describeIssuedChain } from './certificate'
import { PROVIDER, answerError, callError, createCallContext, httpGet, parseRetryAfter, redact, runInContext } from './http'

const DEFAULT_TIMEOUT_MS = 30_000
/**
 * Looking at an authorization or order the CA is still working on: after min, then twice as long each time up to max,
 * `attempts` looks in all (about 45 s with the defaults). Longer than that, the job gives up and tries again later
 * rather than holding a worker.
 */
const DEFAULT_POLL = { minMs: 1000, maxMs: 10_000, attempts: 8 }

export const ZAcmeCaOptions = z.object({
  directoryUrl: z.url({ protocol: /^https?$/ }).describe("the CA's directory, e.g. Let's Encrypt's or Pebble's /dir"),
  accountKey: z.string().describe("the account's private key (PEM); the account is found again by this key"),
  email: z.email().optional().describe('contact address registered with the account (expiry notices, policy changes)'),
  caBundle: z
    .string()
    .includes('-----BEGIN CERTIFICATE-----')
    .optional()
    .describe("PEM certificates trusted, on top of the system's roots, for this CA's HTTPS only (a private CA, Pebble)"),
  timeoutMs: z.number().int().positive().optional().describe('per request'),
  poll: z
    .object({
      minMs: z.number().int().positive().optional(),
      maxMs: z.number().int().positive().optional(),
      attempts: z.number().int().min(1).optional(),
    })
    .optional(),
})

export type AcmeCaOptions = z.input<typeof ZAcmeCaOptions> & {
  /** progress lines (never secrets) */
  log?: LogSink
}

/** RFC 1035 labels (letters, digits, inner hyphens), at least two of them; "*." only as the first label. */
const HOSTNAME = /^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
/** RFC 9773 §4.1: base64url "." base64url, no padding */
const ARI_CERT_ID = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

export const ZAcmeOrderRequest = z
  .object({
    hostnames: z
      .array(
        z
          .string()
          .max(253)
          .transform((name) => name.toLowerCase())
          .pipe(z.string().regex(HOSTNAME, 'not a hostname')),
      )
      .min(1)
      .max(100),
    challenge: z.enum(['dns-01', 'http-01']),
    privateKey: z.string().includes('PRIVATE KEY', { message: 'not a PEM private key' }),
    replaces: z.string().regex(ARI_CERT_ID, 'not an ARI certificate id').optional(),
  })
  .refine((order) => new Set(order.hostnames).size === order.hostnames.length, { message: 'hostnames repeat', path: ['hostnames'] })
  .refine((order) => order.challenge === 'dns-01' || !order.hostnames.some((name) => name.startsWith('*.')), {
    message: 'wildcard names can only be validated with dns-01',
    path: ['challenge'],
  })

/** Only what the adapter reads of a directory; the CA sends more. */
const ZDirectory = z.looseObject({ newOrder: z.string(), renewalInfo: z.string().optional() })
type Directory = z.infer<typeof ZDirectory>

/** RFC 9773 §4.2 */
const ZRenewalInfo = z.looseObject({
  suggestedWindow: z.looseObject({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }) }),
  explanationURL: z.string().optional(),
})

/** A challenge's error (RFC 8555 §8: a problem document), as the authorization reports it. */
const ZChallengeError = z.looseObject({ type: z.string().optional(), detail: z.string().optional() })

type OrderPayload = Parameters<Client['createOrder']>[0] & { replaces?: string }
type Challenge = Authorization['challenges'][number]

interface PendingChallenge {
  authorization: Authorization
  challenge: Challenge
  /** the requested name this authorization stands for ("*.zone" for a wildcard's) */
  hostname: string
  task: AcmeChallengeTask
}

function hostnameOf(authorization: Authorization): string {
  return authorization.wildcard ? `*.${authorization.identifier.value}` : authorization.identifier.value
}

function messageOf(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err))
}

export function createAcmeCa(options: AcmeCaOptions): AcmeCa {
  const parsed = ZAcmeCaOptions.safeParse(options)
  if (!parsed.success) throw new ProvisionerError(PROVIDER, 'configure', `invalid settings: ${z.prettifyError(parsed.error)}`)
  const { directoryUrl, accountKey, email, caBundle } = parsed.data
  try {
    createPrivateKey(accountKey)
  } catch {
    throw new ProvisionerError(PROVIDER, 'configure', 'the account key is not a PEM private key')
  }
  const timeoutMs = parsed.data.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const poll = { ...DEFAULT_POLL, ...parsed.data.poll }
  const log: LogSink = options.log ?? (() => {})
  // Trust for this CA only: the system's roots plus caBundle (never NODE_TLS_REJECT_UNAUTHORIZED, never the global agent).
  const agent = new https.Agent({ keepAlive: true, ca: caBundle ? [...tls.rootCertificates, caBundle] : undefined })
  const client = new Client({
    directoryUrl,
    accountKey,
    backoffMin: poll.minMs,
    backoffMax: poll.maxMs,
    backoffAttempts: poll.attempts,
  })
  let accountUrl: string | undefined
  let directory: { value: Directory; readAt: number } | undefined

  /** Runs acme-client calls in a fresh call context and maps their failure to a ProvisionerError naming `operation`. */
  async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const context = createCallContext(agent, timeoutMs)
    try {
      return await runInContext(context, fn)
    } catch (err) {
      throw callError(operation, err, context)
    }
  }

  /** The directory, read again after a day as acme-client does (a CA may add resources, such as renewalInfo). */
  async function getDirectory(): Promise<Directory> {
    if (directory && Date.now() - directory.readAt < 24 * 60 * 60 * 1000) return directory.value
    const answer = await httpGet('directory', directoryUrl, createCallContext(agent, timeoutMs))
    if (answer.status !== 200) throw answerError('directory', directoryUrl, answer)
    const value = parseAnswer(PROVIDER, 'directory', ZDirectory, answer.text, 'the CA directory')
    directory = { value, readAt: Date.now() }
    return value
  }

  /**
   * The account of `accountKey` if the CA knows it (newAccount with onlyReturnExisting, RFC 8555 §7.3.1), else null.
   * Registering again with a known key would make acme-client follow with an account update that changes nothing, which
   * some CAs (Pebble) refuse.
   */
  async function findAccount(): Promise<{ contact?: string[] } | null> {
    const context = createCallContext(agent, timeoutMs)
    try {
      // on 200, acme-client reads the account with a POST-as-GET
      return await runInContext(context, () => client.createAccount({ onlyReturnExisting: true }))
    } catch (err) {
      if ([...context.problems.values()].some((problem) => problem.type.endsWith(':accountDoesNotExist'))) return null
      throw callError('new-account', err, context)
    }
  }

  async function ensureAccount(): Promise<string> {
    if (accountUrl) return accountUrl
    const contact = email ? [`mailto:${email}`] : undefined
    const existing = await findAccount()
    if (!existing) {
      await call('new-account', () => client.createAccount({ termsOfServiceAgreed: true, ...(contact ? { contact } : {}) }))
      log(`ACME account registered at ${directoryUrl}`)
    } else if (contact && !contact.every((address) => existing.contact?.includes(address))) {
      await call('update-account', () => client.updateAccount({ contact }))
      log(`ACME account contact updated at ${directoryUrl}`)
    }
    accountUrl = client.getAccountUrl()
    return accountUrl
  }

  /** Waits until every challenged authorization is valid; explains a failure from the authorizations themselves. */
  async function validate(order: Order, pending: PendingChallenge[]): Promise<void> {
    const results = await Promise.allSettled(pending.map((p) => call('validate', () => client.waitForValidStatus(p.authorization))))
    const rejected = results.find((result) => result.status === 'rejected')
    if (!rejected) return
    const now = await call('authorizations', () => client.getAuthorizations(order))
    const invalid = now.filter((authorization) => authorization.status === 'invalid')
    if (invalid.length > 0) {
      const failed = invalid.map(hostnameOf)
      const errors = invalid.flatMap((authorization) =>
        authorization.challenges.flatMap((challenge) => {
          const error = ZChallengeError.safeParse(challenge.error)
          return challenge.error && error.success ? [{ hostname: hostnameOf(authorization), ...error.data }] : []
        }),
      )
      const type = errors.find((error) => error.type)?.type ?? 'urn:ietf:params:acme:error:unauthorized'
      const details = errors.map((error) => `${error.hostname}: ${redact(error.detail ?? 'no detail')}`).join('; ')
      throw new AcmeProblemError('validate', `validation failed for ${failed.join(', ')}${details ? ` (${details})` : ''}`, type, failed)
    }
    const unfinished = now.filter((authorization) => authorization.status === 'pending').map(hostnameOf)
    if (unfinished.length > 0)
      throw new ProvisionerError(PROVIDER, 'validate', `the CA has not finished validating ${unfinished.join(', ')}: try again later`, true)
    throw rejected.reason
  }

  /** The certificate once the finalized order is valid; a CA still signing is retryable, an invalid order is not. */
  async function download(order: Order): Promise<string> {
    try {
      return await call('download-certificate', () => client.getCertificate(order))
    } catch (err) {
      const now = await call('download-certificate', () => client.getOrder(order))
      if (now.status === 'processing')
        throw new ProvisionerError(PROVIDER, 'download-certificate', 'the CA is still signing the certificate: try again later', true)
      if (now.status === 'invalid') {
        const error = ZChallengeError.safeParse(now.error)
        const type = error.success ? error.data.type : undefined
        const detail = error.success && error.data.detail ? redact(error.data.detail) : 'the CA marked the order invalid'
        if (type) throw new AcmeProblemError('finalize', detail, type, [])
        throw new ProvisionerError(PROVIDER, 'finalize', detail)
      }
      throw err
    }
  }

  async function issue(request: AcmeOrderRequest, solver: AcmeChallengeSolver): Promise<IssuedCertificate> {
    const parsedRequest = ZAcmeOrderRequest.safeParse(request)
    if (!parsedRequest.success)
      throw new ProvisionerError(PROVIDER, 'issue', `invalid order request: ${z.prettifyError(parsedRequest.error)}`)
    const { hostnames, challenge: challengeType, privateKey, replaces } = parsedRequest.data
    await ensureAccount()
    const { renewalInfo } = await getDirectory()

    const payload: OrderPayload = { identifiers: hostnames.map((value) => ({ type: 'dns', value })) }
    // RFC 9773 §5: only to a CA that offers ARI (one that does not may refuse the unknown field)
    if (replaces && renewalInfo) payload.replaces = replaces
    const order = await call('new-order', () => client.createOrder(payload))
    log(`ACME order placed for ${hostnames.join(', ')}${payload.replaces ? ` (replaces ${payload.replaces})` : ''}`)

    const authorizations = await call('authorizations', () => client.getAuthorizations(order))
    const pending: PendingChallenge[] = []
    for (const authorization of authorizations) {
      const hostname = hostnameOf(authorization)
      if (authorization.status === 'valid') continue // validated for an earlier order, and the CA reuses it
      if (authorization.status !== 'pending')
        throw new ProvisionerError(PROVIDER, 'authorizations', `the authorization for ${hostname} is ${authorization.status}`)
      const challenge = authorization.challenges.find((candidate) => candidate.type === challengeType)
      if (!challenge) throw new ProvisionerError(PROVIDER, 'authorizations', `the CA offers no ${challengeType} challenge for ${hostname}`)
      // dns-01: the TXT value (base64url SHA-256 of the key authorization); http-01: the key authorization itself
      const answer = await client.getChallengeKeyAuthorization(challenge)
      const identifier = authorization.identifier.value
      const task: AcmeChallengeTask =
        challenge.type === 'dns-01'
          ? { type: 'dns-01', identifier, recordName: `_acme-challenge.${identifier}`, value: answer }
          : { type: 'http-01', identifier, token: challenge.token, keyAuthorization: answer }
      pending.push({ authorization, challenge, hostname, task })
    }

    // Every answer is put in place before the CA is told to look at any, so names validated together (a wildcard and
    // its apex share one TXT name) never see a half-presented state; each presented one is removed again whatever happens.
    const presented: AcmeChallengeTask[] = []
    try {
      for (const p of pending) {
        presented.push(p.task)
        try {
          await solver.present(p.task)
        } catch (err) {
          if (err instanceof ProvisionerError) throw err
          throw new ProvisionerError(PROVIDER, 'present-challenge', `${p.task.type} for ${p.hostname}: ${messageOf(err)}`, false, {
            cause: err,
          })
        }
      }
      for (const p of pending) await call('respond-challenge', () => client.completeChallenge(p.challenge))
      await validate(order, pending)
      if (pending.length > 0) log(`ACME validated ${pending.map((p) => p.hostname).join(', ')} by ${challengeType}`)
    } finally {
      for (const task of presented) {
        try {
          await solver.cleanup(task)
        } catch (err) {
          // a stale answer left behind is harmless; the issuance's own outcome matters more
          log(`ACME could not remove the ${task.type} answer for ${task.identifier}: ${messageOf(err)}`)
        }
      }
    }

    const [, csr] = await acmeCrypto.createCsr({ commonName: hostnames[0], altNames: [...hostnames] }, privateKey).catch(() => {
      throw new ProvisionerError(
        PROVIDER,
        'finalize',
        'the certificate private key cannot be used to sign a request (PEM RSA or ECDSA key)',
      )
    })
    const finalized = await call('finalize', () => client.finalizeOrder(order, csr))
    const chain = await download(finalized)
    try {
      const issued = describeIssuedChain(chain, privateKey)
      log(`ACME certificate issued for ${hostnames.join(', ')}: serial ${issued.serial}, valid until ${issued.notAfter}`)
      return issued
    } catch (err) {
      if (err instanceof CertificateChainError) throw new ProvisionerError(PROVIDER, 'download-certificate', err.message)
      throw err
    }
  }

  async function renewalInfoOf(ariCertId: string): Promise<RenewalInfo | null> {
    if (!ARI_CERT_ID.test(ariCertId)) throw new ProvisionerError(PROVIDER, 'renewal-info', 'not an ARI certificate id')
    const { renewalInfo } = await getDirectory()
    if (!renewalInfo) return null
    const url = `${renewalInfo.replace(/\/+$/, '')}/${ariCertId}`
    const answer = await httpGet('renewal-info', url, createCallContext(agent, timeoutMs))
    // The CA knows nothing of this certificate (not one it issued, or long expired): no window, exactly as without ARI,
    // and the caller falls back to its own schedule.
    if (answer.status === 404) return null
    if (answer.status !== 200) throw answerError('renewal-info', url, answer)
    const info = parseAnswer(PROVIDER, 'renewal-info', ZRenewalInfo, answer.text, 'the CA')
    const start = new Date(info.suggestedWindow.start)
    const end = new Date(info.suggestedWindow.end)
    // RFC 9773 §4.2: a window that ends before it starts is invalid
    if (end.getTime() < start.getTime())
      throw new ProvisionerError(PROVIDER, 'renewal-info', 'the CA suggested a renewal window that ends before it starts')
    return {
      start: start.toISOString(),
      end: end.toISOString(),
      retryAfterMs: parseRetryAfter(answer.headers['retry-after']) ?? null,
      explanationUrl: info.explanationURL ?? null,
    }
  }

  return { directoryUrl, ensureAccount, issue, renewalInfo: renewalInfoOf }
}
