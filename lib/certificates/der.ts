/**
 * A tiny DER reader: just enough to read the parts of an X.509 certificate that Node's X509Certificate does not
 * expose on Node 20 (the signature algorithm, the validity as dates, the DNS names of the subjectAltName, the
 * common names). Certificates are DER (RFC 5280 §4.1), so definite lengths only. Throws `DerError` on anything
 * malformed; callers turn that into an invalid_input for the field they were reading.
 */
export class DerError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DerError'
  }
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  t61String: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const

export interface DerNode {
  /** the identifier octet (class, constructed bit and tag number; tag numbers above 30 are not supported) */
  tag: number
  content: Buffer
  /** the whole encoding, header included */
  encoded: Buffer
}

/** Reads the element at `offset` of `buf`. */
export function readNode(buf: Buffer, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new DerError('truncated element')
  const tag = buf.readUInt8(offset)
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported')
  let length = buf.readUInt8(offset + 1)
  let headerLength = 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0) throw new DerError('indefinite lengths are not DER')
    if (octets > 4) throw new DerError('element too long')
    if (offset + 2 + octets > buf.length) throw new DerError('truncated length')
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + buf.readUInt8(offset + 2 + i)
    headerLength += octets
  }
  const end = offset + headerLength + length
  if (end > buf.length) throw new DerError('truncated element')
  return { tag, content: buf.subarray(offset + headerLength, end), encoded: buf.subarray(offset, end) }
}

/** The elements inside a constructed element. */
export function childrenOf(node: DerNode): DerNode[] {
  if (!(node.tag & 0x20)) throw new DerError('not a constructed element')
  const children: DerNode[] = []
  for (let offset = 0; offset < node.content.length;) {
    const child = readNode(node.content, offset)
    children.push(child)
    offset += child.encoded.length
  }
  return children
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what} is missing`)
  return node
}

export function decodeOid(node: DerNode): string {
  if (node.tag !== TAG.oid || node.content.length === 0) throw new DerError('not an object identifier')
  const arcs: number[] = []
  let value = 0
  for (const byte of node.content) {
    value = value * 128 + (byte & 0x7f)
    if (!(byte & 0x80)) {
      arcs.push(value)
      value = 0
    }
  }
  const first = arcs.shift() ?? 0
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80]
  return [...head, ...arcs].join('.')
}

/** UTCTime (two-digit years: 50–99 are 19xx, RFC 5280 §4.1.2.5.1) or GeneralizedTime, both in UTC ("Z"). */
export function decodeTime(node: DerNode): Date {
  const text = node.content.toString('latin1')
  const match =
    node.tag === TAG.utcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : node.tag === TAG.generalizedTime
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null
  if (!match) throw new DerError('not a UTC time')
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number]
  const year = node.tag === TAG.utcTime ? (y >= 50 ? 1900 + y : 2000 + y) : y
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s))
}

/** The directory string types found in names (RFC 5280 §4.1.2.4), and IA5String for DNS names. */
export function decodeString(node: DerNode): string {
  switch (node.tag) {
    case TAG.utf8String:
      return node.content.toString('utf8')
    case TAG.printableString:
    case TAG.ia5String:
    case TAG.t61String:
      return node.content.toString('latin1')
    case TAG.bmpString:
      return Buffer.from(node.content).swap16().toString('utf16le')
    case TAG.universalString: {
      const codePoints: number[] = []
      for (let i = 0; i + 3 < node.content.length; i += 4) codePoints.push(node.content.readUInt32BE(i))
      return String.fromCodePoint(...codePoints)
    }
    default:
      throw new DerError('not a string')
  }
}
