import { childrenOf, DerError, decodeOid, decodeString, decodeTime, expectTag, readNode, TAG, type DerNode } from './der'

/** What we read from a certificate's DER ourselves, because Node 20's X509Certificate does not expose it. */
export interface CertificateFields {
  /** the outer signatureAlgorithm (RFC 5280 §4.1.1.2) */
  signatureAlgorithm: string
  /** the hash of that signature when it is one browsers refuse (MD2, MD4, MD5, SHA-1) */
  weakSignatureHash?: WeakHash
  notBefore: Date
  notAfter: Date
  /** whether the certificate carries a subjectAltName extension at all */
  hasSubjectAltName: boolean
  /** the dNSName entries of the subjectAltName, as written */
  dnsNames: string[]
  subjectCommonName?: string
  issuerCommonName?: string
}

export type WeakHash = 'MD2' | 'MD4' | 'MD5' | 'SHA-1'

const OID = {
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha1: '1.3.14.3.2.26',
} as const

/** Signature algorithms whose hash is broken: RSA PKCS#1 v1.5, OIW, DSA and ECDSA flavours. */
const WEAK_SIGNATURES: Record<string, WeakHash> = {
  '1.2.840.113549.1.1.2': 'MD2',
  '1.2.840.113549.1.1.3': 'MD4',
  '1.2.840.113549.1.1.4': 'MD5',
  '1.2.840.113549.1.1.5': 'SHA-1',
  '1.3.14.3.2.29': 'SHA-1',
  '1.2.840.10040.4.3': 'SHA-1',
  '1.2.840.10045.4.1': 'SHA-1',
}

/** Reads the fields above from a certificate's DER. Throws `DerError` when the structure is not a certificate. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const [tbs, signatureAlgorithm] = childrenOf(expectTag(readNode(der), TAG.sequence, 'certificate'))
  const algorithm = childrenOf(expectTag(signatureAlgorithm, TAG.sequence, 'signatureAlgorithm'))
  const signatureOid = decodeOid(expectTag(algorithm[0], TAG.oid, 'signature algorithm'))

  const parts = childrenOf(expectTag(tbs, TAG.sequence, 'tbsCertificate'))
  // The version is an optional [0] EXPLICIT: everything after it is positional.
  const rest = parts[0]?.tag === 0xa0 ? parts.slice(1) : parts
  const [, , issuer, validity, subject] = rest
  const [notBefore, notAfter] = childrenOf(expectTag(validity, TAG.sequence, 'validity'))
  if (!notBefore || !notAfter) throw new DerError('validity is incomplete')
  const extensions = rest.find((node) => node.tag === 0xa3)
  const subjectAltName = extensions ? findExtension(extensions, OID.subjectAltName) : undefined

  return {
    signatureAlgorithm: signatureOid,
    weakSignatureHash: weakHashOf(signatureOid, algorithm[1]),
    notBefore: decodeTime(notBefore),
    notAfter: decodeTime(notAfter),
    hasSubjectAltName: subjectAltName !== undefined,
    dnsNames: subjectAltName ? dnsNamesOf(subjectAltName) : [],
    subjectCommonName: commonNameOf(expectTag(subject, TAG.sequence, 'subject')),
    issuerCommonName: commonNameOf(expectTag(issuer, TAG.sequence, 'issuer')),
  }
}

function weakHashOf(oid: string, parameters: DerNode | undefined): WeakHash | undefined {
  if (oid !== OID.rsassaPss) return WEAK_SIGNATURES[oid]
  // RSASSA-PSS-params (RFC 4055 §3.1): hashAlgorithm [0] defaults to SHA-1 when absent.
  const hash = parameters?.tag === TAG.sequence ? childrenOf(parameters).find((node) => node.tag === 0xa0) : undefined
  if (!hash) return 'SHA-1'
  const hashOid = decodeOid(expectTag(childrenOf(expectTag(childrenOf(hash)[0], TAG.sequence, 'hash algorithm'))[0], TAG.oid, 'hash'))
  return hashOid === OID.sha1 ? 'SHA-1' : undefined
}

/** The extnValue (the DER inside the OCTET STRING) of the extension `oid`, if present. */
function findExtension(extensions: DerNode, oid: string): DerNode | undefined {
  const list = expectTag(childrenOf(extensions)[0], TAG.sequence, 'extensions')
  for (const extension of childrenOf(list)) {
    const [id, ...others] = childrenOf(expectTag(extension, TAG.sequence, 'extension'))
    if (decodeOid(expectTag(id, TAG.oid, 'extension id')) !== oid) continue
    const value = expectTag(others[others.length - 1], TAG.octetString, 'extension value')
    return readNode(value.content)
  }
  return undefined
}

/** GeneralNames (RFC 5280 §4.2.1.6): dNSName is [2] IMPLICIT IA5String. Other name types are not host names. */
function dnsNamesOf(generalNames: DerNode): string[] {
  return childrenOf(expectTag(generalNames, TAG.sequence, 'subjectAltName'))
    .filter((name) => name.tag === 0x82)
    .map((name) => name.content.toString('latin1'))
}

/** The last commonName of a Name (the most specific one when there are several). */
function commonNameOf(name: DerNode): string | undefined {
  let commonName: string | undefined
  for (const rdn of childrenOf(name)) {
    for (const attribute of childrenOf(expectTag(rdn, TAG.set, 'relative distinguished name'))) {
      const [type, value] = childrenOf(expectTag(attribute, TAG.sequence, 'attribute'))
      if (type && value && decodeOid(type) === OID.commonName) commonName = decodeString(value)
    }
  }
  return commonName
}
