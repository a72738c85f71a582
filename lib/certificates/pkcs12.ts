import { createPrivateKey, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { parseCertificate } from './pem'
import type { UploadedCertificate, UploadProblems } from './upload-problems'

/** What a PKCS#12 bundle holds, in the order stored (positions are assigned once the leaf is known). */
export interface Pkcs12Contents {
  certificates: Pick<UploadedCertificate, 'x509' | 'fields'>[]
  keys: KeyObject[]
}

/**
 * The key derivation work a bundle may ask of us, summed over the MAC and every encryption we can see before
 * decrypting. node-forge derives keys in JavaScript on the request's thread (about half a second per 100,000
 * PBKDF2 rounds here), so a bundle asking for millions of rounds would stall the server. Exports use a few
 * thousand (OpenSSL 2048, Windows 2000, Java 10000 per derivation).
 */
export const MAX_KDF_ITERATIONS = 300_000

/** RFC 7292 bag types and the PKCS#7 content types of an AuthenticatedSafe. */
const OID = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
} as const

/**
 * Opens a PKCS#12 (.pfx/.p12) bundle with node-forge, which Node cannot do, and hands every certificate and key
 * to Node as DER. node-forge only understands RSA keys and certificates, but keeps the ASN.1 of anything else, so
 * EC bundles work too. Problems go to `problems` (field `bundle`, or `password` when the password is wrong).
 */
export function readPkcs12(bundle: Buffer, password: string, problems: UploadProblems): Pkcs12Contents | undefined {
  let pfx: forge.asn1.Asn1
  try {
    // Strict: every length must fit (a truncated upload is not a PKCS#12 bundle); BER's indefinite lengths still pass.
    pfx = forge.asn1.fromDer(forge.util.createBuffer(bundle.toString('binary')), true)
  } catch {
    problems.add('bundle', 'is not a PKCS#12 bundle')
    return undefined
  }
  const iterations = visibleKdfIterations(pfx)
  if (iterations > MAX_KDF_ITERATIONS) {
    problems.add(
      'bundle',
      `asks for ${iterations} rounds of key derivation (at most ${MAX_KDF_ITERATIONS}): export it with the default settings`,
    )
    return undefined
  }

  let p12: forge.pkcs12.Pkcs12Pfx
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(pfx, false, password)
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    // node-forge has no error codes: these are its messages for a MAC or a decryption that fails.
    if (/password|failed to decrypt|unable to decrypt/i.test(message)) problems.add('password', passwordProblem(message, password))
    else if (/unsupported/i.test(message)) {
      problems.add('bundle', 'is protected with an algorithm we cannot read: export it with AES-256 (or TripleDES-SHA1)')
    } else problems.add('bundle', 'is not a PKCS#12 bundle')
    return undefined
  }

  const contents: Pkcs12Contents = { certificates: [], keys: [] }
  for (const bag of p12.getBags({ bagType: OID.certBag })[OID.certBag] ?? []) {
    const certificate = parseCertificate(toBuffer(bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1))
    if (!certificate) {
      problems.add('bundle', 'holds a certificate that cannot be read')
      return undefined
    }
    contents.certificates.push(certificate)
  }
  for (const type of [OID.pkcs8ShroudedKeyBag, OID.keyBag]) {
    for (const bag of p12.getBags({ bagType: type })[type] ?? []) {
      // An RSA key comes back parsed (PKCS#1): wrap it in PKCS#8 again. Other keys keep their PrivateKeyInfo.
      const info = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1
      try {
        contents.keys.push(createPrivateKey({ key: toBuffer(info), format: 'der', type: 'pkcs8' }))
      } catch {
        problems.add('bundle', 'holds a private key that cannot be read')
        return undefined
      }
    }
  }
  return contents
}

/**
 * node-forge derives the MAC key from the password's UTF-16 (right) but PBKDF2 keys from its characters taken as
 * bytes, where OpenSSL takes its UTF-8: a non-ASCII password opens the MAC and then fails to decrypt an AES bundle.
 */
function passwordProblem(forgeMessage: string, password: string): string {
  const macVerified = !/MAC/.test(forgeMessage)
  if (macVerified && /[^\x00-\x7f]/.test(password)) {
    return 'opens the bundle but not its AES encryption: export it again with a password of ASCII characters only'
  }
  return 'does not open the bundle'
}

function toBuffer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary')
}

/**
 * The sum of the iteration counts readable without the password: the MAC's (RFC 7292 §4), and the PBE
 * parameters of each encrypted SafeContents and of each shrouded key bag stored in the clear. Key bags inside
 * an encrypted SafeContents stay hidden until node-forge decrypts them: OpenSSL and Windows do not put them there.
 * Anything that does not have the expected shape counts as nothing: node-forge then rejects the bundle.
 */
export function visibleKdfIterations(pfx: forge.asn1.Asn1): number {
  let total = 0
  try {
    const [, authSafe, macData] = nodes(pfx)
    if (macData) total += integer(nodes(macData)[2]) ?? 1
    const authenticatedSafe = forge.asn1.fromDer(octets(nodes(nodes(authSafe)[1])[0]), false)
    for (const contentInfo of nodes(authenticatedSafe)) {
      const [type, wrapped] = nodes(contentInfo)
      const contentType = oid(type)
      if (contentType === OID.encryptedData) {
        const encryptedContentInfo = nodes(nodes(nodes(wrapped)[0])[1])
        total += iterationsIn(encryptedContentInfo[1])
      } else if (contentType === OID.data) {
        for (const bag of nodes(forge.asn1.fromDer(octets(nodes(wrapped)[0]), false))) {
          const [bagId, value] = nodes(bag)
          if (oid(bagId) === OID.pkcs8ShroudedKeyBag) total += iterationsIn(nodes(nodes(value)[0])[0])
        }
      }
    }
  } catch {
    // not the expected shape: node-forge will say what is wrong
  }
  return total
}

/** PBES2 (PBKDF2-params) and PKCS#12 PBE (pbeParams) both hold `salt OCTET STRING, iterationCount INTEGER`. */
function iterationsIn(algorithm: forge.asn1.Asn1 | undefined): number {
  if (!algorithm || !Array.isArray(algorithm.value)) return 0
  let total = 0
  const children = algorithm.value
  for (const [index, child] of children.entries()) {
    const previous = children[index - 1]
    if (child.type === forge.asn1.Type.INTEGER && previous?.type === forge.asn1.Type.OCTETSTRING && !child.constructed) {
      total += integer(child) ?? 0
    } else total += iterationsIn(child)
  }
  return total
}

function nodes(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error('not a constructed element')
  return node.value
}

/** The bytes of an OCTET STRING, BER-chunked or not. */
function octets(node: forge.asn1.Asn1 | undefined): string {
  if (!node) throw new Error('missing')
  return typeof node.value === 'string' ? node.value : node.value.map(octets).join('')
}

function oid(node: forge.asn1.Asn1 | undefined): string | undefined {
  return node && typeof node.value === 'string' && node.type === forge.asn1.Type.OID ? forge.asn1.derToOid(node.value) : undefined
}

function integer(node: forge.asn1.Asn1 | undefined): number | undefined {
  if (!node || typeof node.value !== 'string' || node.type !== forge.asn1.Type.INTEGER) return undefined
  // Counts beyond 2^48 are as bad as infinity for our purpose; keep the number exact below that.
  if (node.value.length > 6) return Number.MAX_SAFE_INTEGER
  let value = 0
  for (const char of node.value) value = value * 256 + char.charCodeAt(0)
  return value
}
