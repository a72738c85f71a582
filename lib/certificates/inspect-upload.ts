import { createHash, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { DomainError, invalidInput } from '@/lib/errors'
import { namesCover } from './hostname-match'
import { readCertificates, readPrivateKey } from './pem'
import { readPkcs12 } from './pkcs12'
import { nameOf, say, UploadProblems, type UploadedCertificate, type UploadField } from './upload-problems'

/** Each PEM field and a PKCS#12 bundle: a leaf, a few intermediates and a key fit in a tenth of this. */
export const MAX_UPLOAD_BYTES = 64 * 1024
export const DEFAULT_MIN_VALID_DAYS = 7

export const ZCertificateUpload = z.discriminatedUnion('format', [
  z.object({
    format: z.literal('pem'),
    certificate: z.string().describe('The certificate for the domain, PEM; may be followed by its chain'),
    chain: z.string().optional().describe('The intermediate certificates, PEM, each one issuing the one before'),
    privateKey: z.string().describe('The private key of the certificate, PEM, without a passphrase'),
  }),
  z.object({
    format: z.literal('pkcs12'),
    bundle: z.instanceof(Buffer).describe('A PKCS#12 bundle (.pfx, .p12) holding the certificate, its chain and its key'),
    password: z.string().describe('The password the bundle was exported with'),
  }),
])
export type CertificateUpload = z.infer<typeof ZCertificateUpload>

export interface InspectedCertificate {
  /** PEM, the leaf first then the chain in order, each with one trailing newline */
  certificate: string
  /** PEM PKCS#8, unencrypted ("-----BEGIN PRIVATE KEY-----") */
  privateKey: string
  /** the leaf's DNS subjectAltNames in lower case (its CN only when it has no subjectAltName at all) */
  hostnames: string[]
  notBefore: string
  notAfter: string
  /** the issuer's CN, or its whole DN when it has none */
  issuer: string
  /** lower-case hex */
  serial: string
  /** SHA-256 of the leaf's DER, lower-case hex */
  fingerprint: string
  keyType: 'rsa' | 'ec'
  keyBits: number
  curve?: 'P-256' | 'P-384'
}

export interface InspectUploadOptions {
  /** the domain the certificate is uploaded for */
  hostname: string
  now: Date
  /** how long the certificate must still be valid for, in days (default 7) */
  minValidDays?: number
}

/**
 * Reads and checks a certificate a client uploads for a custom domain, and returns what we store and show
 * (pure: no I/O). Refuses, with an invalid_input DomainError naming the field (certificate, chain, privateKey,
 * bundle, password) and a message written for the client, anything a browser would refuse or the load
 * balancer could not serve: unreadable input, an encrypted or mismatched key, a chain out of order or with a
 * signature that does not verify, a certificate that is expired, not yet valid or expiring within
 * `minValidDays`, one that does not cover `hostname`, a weak or unsupported key, a SHA-1 or MD5 signature.
 * Every problem found at a stage is listed; nothing in the input ever makes it throw anything else.
 */
export function inspectUpload(upload: CertificateUpload, options: InspectUploadOptions): InspectedCertificate {
  const parsed = ZCertificateUpload.safeParse(upload)
  if (!parsed.success) {
    throw invalidInput(parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? 'format'), message: issue.message })))
  }
  const input = parsed.data
  const problems = new UploadProblems()
  try {
    const { certificates, key, keyField } = input.format === 'pem' ? readPem(input, problems) : readBundle(input, problems)
    checkUpload(certificates, key, keyField, options, problems)
    problems.throwIfAny()
    return describe(certificates, key)
  } catch (error) {
    if (error instanceof DomainError) throw error
    // The readers catch what they expect; this is for what nobody expected (a key type Node cannot load, say):
    // still the client's input, never a server error.
    throw invalidInput([
      { field: input.format === 'pem' ? 'certificate' : 'bundle', message: 'cannot be read: it uses a format we do not support' },
    ])
  }
}

interface ReadUpload {
  /** the leaf first, then its chain in the order it will be served */
  certificates: UploadedCertificate[]
  key: KeyObject
  keyField: UploadField
}

function readPem(input: Extract<CertificateUpload, { format: 'pem' }>, problems: UploadProblems): ReadUpload {
  const chainText = input.chain?.trim() ? input.chain : undefined
  for (const field of ['certificate', 'chain', 'privateKey'] as const) {
    const text = field === 'chain' ? chainText : input[field]
    if (text !== undefined && Buffer.byteLength(text) > MAX_UPLOAD_BYTES) problems.add(field, 'is larger than 64 KiB')
  }
  problems.throwIfAny()
  const fromCertificate = readCertificates(input.certificate, 'certificate', 1, problems)
  const fromChain = chainText ? readCertificates(chainText, 'chain', fromCertificate.length + 1, problems) : []
  const key = readPrivateKey(input.privateKey, 'privateKey', problems)
  problems.throwIfAny()
  if (!key) throw new Error('unreachable: a missing key is a problem')
  // People paste the full chain in the certificate field and the chain again in its own: serve each once.
  const seen = new Set<string>()
  const certificates = [...fromCertificate, ...fromChain].filter((certificate) => {
    const fingerprint = certificate.x509.fingerprint256
    if (seen.has(fingerprint)) return false
    seen.add(fingerprint)
    return true
  })
  return { certificates, key, keyField: 'privateKey' }
}

/**
 * A bundle's order means nothing: the leaf is the certificate of its key (the latest, if it holds several), and
 * the chain is built by following issuers through the others. Certificates that are not on that path (another
 * site's, a stray root) are left out.
 */
function readBundle(input: Extract<CertificateUpload, { format: 'pkcs12' }>, problems: UploadProblems): ReadUpload {
  if (input.bundle.length > MAX_UPLOAD_BYTES) problems.add('bundle', 'is larger than 64 KiB')
  problems.throwIfAny()
  const contents = readPkcs12(input.bundle, input.password, problems)
  problems.throwIfAny()
  if (!contents) throw new Error('unreachable: an unreadable bundle is a problem')
  if (contents.certificates.length === 0) problems.add('bundle', 'holds no certificate: export it with its certificate')
  if (contents.keys.length === 0) problems.add('bundle', 'holds no private key: export it with its private key')
  problems.throwIfAny()

  const pairs = contents.keys.flatMap((key) => contents.certificates.filter((c) => matches(c.x509, key)).map((c) => ({ key, leaf: c })))
  pairs.sort((a, b) => b.leaf.fields.notAfter.getTime() - a.leaf.fields.notAfter.getTime())
  const [pair] = pairs
  if (!pair) {
    problems.add('bundle', 'holds a private key that does not match the certificate')
    problems.throwIfAny()
    throw new Error('unreachable: a mismatched key is a problem')
  }
  const path = [pair.leaf]
  const others = contents.certificates.filter((c) => c !== pair.leaf)
  for (let current = pair.leaf; !selfSigned(current.x509);) {
    const issuers = others.filter((c) => c.x509.subject === current.x509.issuer)
    // Prefer the one whose key verifies; a name-only match is kept so that the chain check reports it.
    const next = issuers.find((c) => verifies(current.x509, c.x509)) ?? issuers[0]
    if (!next) break
    others.splice(others.indexOf(next), 1)
    path.push(next)
    current = next
  }
  return {
    certificates: path.map((c, index) => ({ ...c, field: 'bundle', position: index + 1 })),
    key: pair.key,
    keyField: 'bundle',
  }
}

function checkUpload(
  certificates: UploadedCertificate[],
  key: KeyObject,
  keyField: UploadField,
  { hostname, now, minValidDays = DEFAULT_MIN_VALID_DAYS }: InspectUploadOptions,
  problems: UploadProblems,
): void {
  const [leaf, ...chain] = certificates
  if (!leaf) throw new Error('unreachable: an upload without a certificate is a problem')

  const leafKeyProblem = keyProblem(leaf.x509.publicKey)
  if (leafKeyProblem) problems.add(leaf.field, nameOf(leaf) ? `${nameOf(leaf)} has ${withArticle(leafKeyProblem)}` : leafKeyProblem)
  if (keyField !== 'bundle' && !matches(leaf.x509, key)) problems.add(keyField, 'does not match the certificate')
  for (const certificate of chain) {
    const { asymmetricKeyType, asymmetricKeyDetails } = certificate.x509.publicKey
    const bits = asymmetricKeyType === 'rsa' || asymmetricKeyType === 'rsa-pss' ? asymmetricKeyDetails?.modulusLength : undefined
    if (bits !== undefined && bits < 2048)
      problems.add(certificate.field, say(certificate, `has an RSA key of ${bits} bits: at least 2048 are required`))
  }

  checkChain(certificates, problems)

  for (const certificate of certificates) {
    // A root's own signature is never checked by browsers (they trust the root itself), so an old SHA-1 root is fine.
    const hash = certificate.fields.weakSignatureHash
    const trustAnchor = certificate.position > 1 && selfSigned(certificate.x509)
    if (hash && !trustAnchor) problems.add(certificate.field, say(certificate, `is signed with ${hash}, which browsers refuse`))
    const validity = validityProblem(certificate, now, minValidDays)
    if (validity) problems.add(certificate.field, say(certificate, validity))
  }

  const names = hostnamesOf(leaf)
  if (!namesCover(names, hostname)) {
    const covered = names.length > 0 ? names.join(', ') : 'no host name'
    problems.add(leaf.field, say(leaf, `does not cover ${hostname} (it covers ${covered})`))
  }
}

/**
 * Each certificate must be issued by the next one: its issuer DN is the next one's subject DN and its signature
 * verifies with the next one's key. The chain need not reach a root; if it ends with a self-signed one, that
 * one's signature is checked too. Only the first broken link is reported: the rest depends on it.
 */
function checkChain(certificates: UploadedCertificate[], problems: UploadProblems): void {
  for (const [index, child] of certificates.entries()) {
    const parent = certificates[index + 1]
    if (!parent) {
      if (selfSigned(child.x509) && !verifies(child.x509, child.x509)) {
        problems.add(child.field, `the signature of certificate ${child.position}, self-signed, does not verify`)
      }
      return
    }
    if (child.x509.issuer !== parent.x509.subject) {
      const issuer = certificates.slice(index + 2).find((c) => c.x509.subject === child.x509.issuer)
      const hint = issuer ? ` (certificate ${issuer.position} was: put it right after)` : ''
      problems.add(parent.field, `is not in order: certificate ${child.position} was not issued by certificate ${parent.position}${hint}`)
      return
    }
    if (!verifies(child.x509, parent.x509)) {
      problems.add(
        parent.field,
        `the signature of certificate ${child.position} does not verify with the key of certificate ${parent.position}: it was issued by another certificate of the same name`,
      )
      return
    }
  }
}

function validityProblem({ fields }: UploadedCertificate, now: Date, minValidDays: number): string | undefined {
  if (now < fields.notBefore) return `is not valid before ${formatDate(fields.notBefore)}`
  if (now >= fields.notAfter) return `expired on ${formatDate(fields.notAfter)}`
  if (fields.notAfter.getTime() - now.getTime() < minValidDays * 86_400_000) {
    return `expires on ${formatDate(fields.notAfter)}, within ${minValidDays} ${minValidDays === 1 ? 'day' : 'days'}`
  }
  return undefined
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }
const KEY_TYPE_NAMES: Record<string, string> = {
  dsa: 'DSA',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  'rsa-pss': 'RSA-PSS',
  dh: 'DH',
  x25519: 'X25519',
  x448: 'X448',
}

/** What is wrong with the leaf's key, if anything: RSA of 2048 bits or more, or EC on P-256 or P-384. */
function keyProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType ?? 'unknown'
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    return bits < 2048 ? `RSA key of ${bits} bits: at least 2048 are required` : undefined
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'an unnamed curve'
    return curve === 'prime256v1' || curve === 'secp384r1'
      ? undefined
      : `EC key on ${CURVES[curve] ?? curve}: only P-256 and P-384 are supported`
  }
  return `${KEY_TYPE_NAMES[type] ?? type} key: only RSA (2048 bits or more) and EC (P-256, P-384) keys are supported`
}

function describe(certificates: UploadedCertificate[], key: KeyObject): InspectedCertificate {
  const [leaf] = certificates
  if (!leaf) throw new Error('unreachable: checked')
  const publicKey = leaf.x509.publicKey
  const details = publicKey.asymmetricKeyDetails
  const ec = publicKey.asymmetricKeyType === 'ec'
  const curve = details?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256'
  return {
    certificate: certificates.map((c) => c.x509.toString().trimEnd() + '\n').join(''),
    privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    hostnames: hostnamesOf(leaf),
    notBefore: leaf.fields.notBefore.toISOString(),
    notAfter: leaf.fields.notAfter.toISOString(),
    issuer: leaf.fields.issuerCommonName ?? leaf.x509.issuer.split('\n').join(', '),
    serial: leaf.x509.serialNumber.toLowerCase(),
    fingerprint: createHash('sha256').update(leaf.x509.raw).digest('hex'),
    ...(ec ? { keyType: 'ec', keyBits: curve === 'P-384' ? 384 : 256, curve } : { keyType: 'rsa', keyBits: details?.modulusLength ?? 0 }),
  }
}

/** RFC 6125 §6.4.4: the CN is a host name only when the certificate has no subjectAltName at all. */
function hostnamesOf({ fields }: UploadedCertificate): string[] {
  const names = fields.hasSubjectAltName ? fields.dnsNames : fields.subjectCommonName ? [fields.subjectCommonName] : []
  return [...new Set(names.map((name) => name.toLowerCase()))]
}

function selfSigned(x509: UploadedCertificate['x509']): boolean {
  return x509.issuer === x509.subject
}

function verifies(child: UploadedCertificate['x509'], parent: UploadedCertificate['x509']): boolean {
  try {
    return child.verify(parent.publicKey)
  } catch {
    return false
  }
}

function matches(x509: UploadedCertificate['x509'], key: KeyObject): boolean {
  try {
    return x509.checkPrivateKey(key)
  } catch {
    return false
  }
}

/** "an RSA key …", "a DSA key …" (as the letters are spoken). */
function withArticle(phrase: string): string {
  return `${/^(RSA|EC|Ed|X)/.test(phrase) ? 'an' : 'a'} ${phrase}`
}

/** "2026-03-04 12:00 UTC": unambiguous for a client anywhere. */
function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
