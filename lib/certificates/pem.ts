import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readCertificateFields } from './certificate-fields'
import { say, type UploadedCertificate, type UploadField, type UploadProblems } from './upload-problems'

/** One `-----BEGIN LABEL-----` … `-----END LABEL-----` block (RFC 7468, with RFC 1421 headers such as Proc-Type). */
export interface PemBlock {
  label: string
  headers: Map<string, string>
  /** undefined when the body is not base64 */
  der: Buffer | undefined
  /** the block, re-wrapped at 64 columns when it has no headers (what OpenSSL reads), else as written with LF ends */
  text: string
}

const BLOCK = /-----BEGIN ([A-Z0-9 #]+)-----([\s\S]*?)-----END ([A-Z0-9 #]+)-----/g
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE'])
const REQUEST_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'])

/** The PEM blocks of `text`, and whether some BEGIN line had no matching END line. Text around blocks is ignored. */
export function pemBlocks(text: string): { blocks: PemBlock[]; cutShort: boolean } {
  const normalised = text.replace(/\r\n?/g, '\n')
  const blocks: PemBlock[] = []
  for (const match of normalised.matchAll(BLOCK)) {
    const [whole, label = '', body = '', endLabel] = match
    if (label !== endLabel) continue
    const { headers, der } = parseBody(body)
    blocks.push({ label, headers, der, text: der && headers.size === 0 ? toPem(label, der) : `${whole}\n` })
  }
  const begins = normalised.match(/-----BEGIN [A-Z0-9 #]+-----/g)?.length ?? 0
  return { blocks, cutShort: begins > blocks.length }
}

function parseBody(body: string): Pick<PemBlock, 'headers' | 'der'> {
  const lines = body
    .trim()
    .split('\n')
    .map((line) => line.trim())
  const headers = new Map<string, string>()
  // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: …") come first, then a blank line.
  for (let line = lines[0]; line?.includes(':'); line = lines[0]) {
    lines.shift()
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  // Whitespace anywhere in the body is tolerated: web forms and chat tools turn line ends into spaces.
  const base64 = lines.join('').replace(/\s+/g, '')
  const der = /^[A-Za-z0-9+/]+={0,2}$/.test(base64) && base64.length % 4 === 0 ? Buffer.from(base64, 'base64') : undefined
  return { headers, der }
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

export const isPrivateKeyLabel = (label: string) => label.endsWith('PRIVATE KEY')

/**
 * The certificates of a PEM field, in the order written, numbered from `firstPosition`. Problems are added to
 * `problems` (and nothing is returned) when the field holds something else: a private key above all, which must
 * never end up stored beside the certificates, which are not secret.
 */
export function readCertificates(text: string, field: UploadField, firstPosition: number, problems: UploadProblems): UploadedCertificate[] {
  const { blocks, cutShort } = pemBlocks(text)
  const certificates = blocks.filter((block) => CERTIFICATE_LABELS.has(block.label))
  if (blocks.some((block) => isPrivateKeyLabel(block.label))) {
    problems.add(
      field,
      certificates.length > 0
        ? 'holds a private key as well: paste the key in the private key field only'
        : 'holds a private key, not a certificate',
    )
    return []
  }
  if (cutShort) {
    problems.add(field, 'has a BEGIN line without its END line: was it cut short?')
    return []
  }
  if (certificates.length === 0) {
    const other = blocks[0]?.label
    problems.add(
      field,
      other && REQUEST_LABELS.has(other)
        ? 'holds a certificate signing request, not a certificate: upload the certificate the authority issued for it'
        : other
          ? `holds a "${other}" block, not a certificate`
          : 'is not a PEM certificate',
    )
    return []
  }
  const read: UploadedCertificate[] = []
  for (const [index, block] of certificates.entries()) {
    const place = { field, position: firstPosition + index }
    const certificate = block.der && parseCertificate(block.der)
    if (!certificate) {
      problems.add(field, say(place, 'cannot be read: it is damaged or not an X.509 certificate'))
      return []
    }
    read.push({ ...place, ...certificate })
  }
  return read
}

/** Node's parser and ours must both accept the DER; any exception means "not a certificate". */
export function parseCertificate(der: Buffer): Pick<UploadedCertificate, 'x509' | 'fields'> | undefined {
  try {
    return { x509: new X509Certificate(der), fields: readCertificateFields(der) }
  } catch {
    return undefined
  }
}

/**
 * The one private key of a PEM field (PKCS#8, PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"). An encrypted key
 * is refused: only a PKCS#12 upload carries a password. Certificates beside the key are ignored (people paste
 * the combined file HAProxy reads).
 */
export function readPrivateKey(text: string, field: UploadField, problems: UploadProblems): KeyObject | undefined {
  const { blocks, cutShort } = pemBlocks(text)
  const keys = blocks.filter((block) => isPrivateKeyLabel(block.label))
  const [key] = keys
  if (!key) {
    problems.add(
      field,
      blocks.some((block) => CERTIFICATE_LABELS.has(block.label))
        ? 'holds a certificate, not a private key'
        : cutShort
          ? 'has a BEGIN line without its END line: was it cut short?'
          : 'is not a PEM private key',
    )
    return undefined
  }
  if (keys.length > 1) return fail(`holds ${keys.length} private keys: paste only the certificate's key`)
  if (key.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/i.test(key.headers.get('proc-type') ?? '')) {
    return fail('is encrypted: upload the key without a passphrase')
  }
  if (key.label === 'OPENSSH PRIVATE KEY') return fail('is an OpenSSH key: export it as PEM ("BEGIN PRIVATE KEY")')
  if (!key.der) return fail('cannot be read: it is damaged')
  try {
    return createPrivateKey({ key: key.text, format: 'pem' })
  } catch (error) {
    const encrypted = error instanceof Error && 'code' in error && error.code === 'ERR_MISSING_PASSPHRASE'
    return fail(encrypted ? 'is encrypted: upload the key without a passphrase' : 'cannot be read: it is damaged')
  }

  function fail(message: string): undefined {
    problems.add(field, message)
    return undefined
  }
}
