/**
 * Pure: what the adapter reads from an issued certificate chain. Node's X509Certificate does not expose the Authority
 * Key Identifier (nor, on Node 20, the validity as dates), so the few DER fields needed are read with a small walk over
 * the leaf's TBSCertificate (RFC 5280 §4.1) instead of adding an ASN.1 package.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import type { IssuedCertificate } from '../types'

/** The chain could not be read or does not hold together; the message names what is wrong, never key material. */
export class CertificateChainError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CertificateChainError'
  }
}

interface Tlv {
  tag: number
  /** first byte of the contents */
  start: number
  /** one past the last byte of the contents */
  end: number
}

/** One DER tag-length-value at `offset`, within `limit`. Only low tag numbers, which is all X.509 uses. */
function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new CertificateChainError('truncated DER')
  const tag = der[offset]!
  if ((tag & 0x1f) === 0x1f) throw new CertificateChainError('unsupported DER tag')
  let length = der[offset + 1]!
  let start = offset + 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > limit) throw new CertificateChainError('unsupported DER length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!
    start += count
  }
  const end = start + length
  if (end > limit) throw new CertificateChainError('truncated DER')
  return { tag, start, end }
}

/** The TLVs directly inside a constructed value. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let offset = parent.start; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end)
    out.push(child)
    offset = child.end
  }
  return out
}

const SEQUENCE = 0x30
const INTEGER = 0x02
const OID = 0x06
const OCTET_STRING = 0x04
const UTC_TIME = 0x17
const GENERALIZED_TIME = 0x18
/** [0] EXPLICIT version, [3] EXPLICIT extensions (TBSCertificate); [0] IMPLICIT keyIdentifier (AuthorityKeyIdentifier) */
const CONTEXT_0_CONSTRUCTED = 0xa0
const CONTEXT_3_CONSTRUCTED = 0xa3
const CONTEXT_0_PRIMITIVE = 0x80
/** id-ce-authorityKeyIdentifier, 2.5.29.35, as DER contents */
const AKI_OID = Uint8Array.of(0x55, 0x1d, 0x23)

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

function derTime(der: Uint8Array, tlv: Tlv): string {
  const text = Buffer.from(der.subarray(tlv.start, tlv.end)).toString('latin1')
  // UTCTime YYMMDDHHMMSSZ (years 1950-2049, RFC 5280 §4.1.2.5.1); GeneralizedTime YYYYMMDDHHMMSSZ
  const match =
    tlv.tag === UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : tlv.tag === GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null
  if (!match) throw new CertificateChainError('the certificate has a validity time in an unexpected form')
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number]
  const year = tlv.tag === UTC_TIME ? (y < 50 ? 2000 + y : 1900 + y) : y
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s)).toISOString()
}

export interface LeafFields {
  /** the serial's DER contents (with any leading 0x00 sign byte), as RFC 9773 §4.1 encodes it */
  serialDer: Buffer
  /** the AuthorityKeyIdentifier's keyIdentifier, or null when the extension (or that field) is absent */
  authorityKeyId: Buffer | null
  notBefore: string
  notAfter: string
}

/** Reads the serial, validity and authority key identifier of one DER certificate. */
export function readLeafFields(der: Uint8Array): LeafFields {
  const certificate = readTlv(der, 0)
  if (certificate.tag !== SEQUENCE) throw new CertificateChainError('not a DER certificate')
  const tbs = children(der, certificate)[0]
  if (!tbs || tbs.tag !== SEQUENCE) throw new CertificateChainError('not a DER certificate')
  const fields = children(der, tbs)
  let index = fields[0]?.tag === CONTEXT_0_CONSTRUCTED ? 1 : 0
  const serial = fields[index++]
  if (!serial || serial.tag !== INTEGER) throw new CertificateChainError('the certificate has no serial number')
  index += 2 // signature algorithm, issuer
  const validity = fields[index]
  if (!validity || validity.tag !== SEQUENCE) throw new CertificateChainError('the certificate has no validity')
  const [notBefore, notAfter] = children(der, validity)
  if (!notBefore || !notAfter) throw new CertificateChainError('the certificate has no validity')

  let authorityKeyId: Buffer | null = null
  const extensions = fields.find((field) => field.tag === CONTEXT_3_CONSTRUCTED)
  const list = extensions ? children(der, extensions)[0] : undefined
  for (const extension of list ? children(der, list) : []) {
    const parts = children(der, extension)
    const oid = parts[0]
    if (!oid || oid.tag !== OID || !sameBytes(der.subarray(oid.start, oid.end), AKI_OID)) continue
    const value = parts[parts.length - 1] // extnValue; a "critical" BOOLEAN may sit between
    if (!value || value.tag !== OCTET_STRING) throw new CertificateChainError('malformed authority key identifier')
    const aki = readTlv(der, value.start, value.end)
    if (aki.tag !== SEQUENCE) throw new CertificateChainError('malformed authority key identifier')
    const keyIdentifier = children(der, aki).find((part) => part.tag === CONTEXT_0_PRIMITIVE)
    if (keyIdentifier) authorityKeyId = Buffer.from(der.subarray(keyIdentifier.start, keyIdentifier.end))
    break
  }
  return {
    serialDer: Buffer.from(der.subarray(serial.start, serial.end)),
    authorityKeyId,
    notBefore: derTime(der, notBefore),
    notAfter: derTime(der, notAfter),
  }
}

/** RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial DER contents), no padding; null without an AKI. */
export function ariCertId(der: Uint8Array): string | null {
  return certIdOf(readLeafFields(der))
}

function certIdOf({ authorityKeyId, serialDer }: LeafFields): string | null {
  return authorityKeyId ? `${authorityKeyId.toString('base64url')}.${serialDer.toString('base64url')}` : null
}

/** The serial as lower-case hex of its value: the DER sign byte dropped, an even number of digits kept (as openssl prints it). */
export function serialHex(serialDer: Buffer): string {
  let start = 0
  while (start < serialDer.length - 1 && serialDer[start] === 0) start++
  return serialDer.subarray(start).toString('hex')
}

/** The PEM certificates of a chain, in order. */
export function splitPemChain(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

/** The issuer's common name, or the whole DN when it has none. */
function issuerName(certificate: X509Certificate): string {
  const lines = certificate.issuer.split('\n')
  const cn = lines.find((line) => line.startsWith('CN='))
  return cn ? cn.slice(3) : lines.join(', ')
}

/**
 * Describes a chain a CA issued (leaf first): checks that each certificate is signed by the next one and, when given,
 * that the leaf carries the public key of `privateKeyPem`, so a broken chain never reaches the load balancers.
 */
export function describeIssuedChain(chainPem: string, privateKeyPem?: string): IssuedCertificate {
  const pems = splitPemChain(chainPem)
  if (pems.length === 0) throw new CertificateChainError('the CA sent no certificate')
  let certificates: X509Certificate[]
  try {
    certificates = pems.map((pem) => new X509Certificate(pem))
  } catch {
    throw new CertificateChainError('the CA sent a certificate that cannot be parsed')
  }
  const leaf = certificates[0]!
  for (let i = 0; i + 1 < certificates.length; i++) {
    const child = certificates[i]!
    const parent = certificates[i + 1]!
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey))
      throw new CertificateChainError(`certificate ${i + 1} of the chain is not signed by certificate ${i + 2}`)
  }
  if (privateKeyPem !== undefined) {
    let matches: boolean
    try {
      matches = leaf.checkPrivateKey(createPrivateKey(privateKeyPem))
    } catch {
      throw new CertificateChainError('the certificate private key cannot be read')
    }
    if (!matches) throw new CertificateChainError("the issued certificate does not carry the order's public key")
  }
  const fields = readLeafFields(leaf.raw)
  return {
    certificate: pems.map((pem) => `${pem}\n`).join(''),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    serial: serialHex(fields.serialDer),
    issuer: issuerName(leaf),
    fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
    ariCertId: certIdOf(fields),
  }
}
