import { createHash, createHmac, randomBytes } from 'node:crypto'
import forge from 'node-forge'

export interface SshKeyPair {
  /** One line of authorized_keys: `ssh-ed25519 BASE64 comment` */
  publicKey: string
  /** The private key in OpenSSH's own format (`-----BEGIN OPENSSH PRIVATE KEY-----`), unencrypted. */
  privateKey: string
}

/**
 * An Ed25519 key pair for one appserver. With `secret`, the key is derived from it and the appserver id, so a
 * `create` retried after a crash (the instance exists, the caller never stored the key) finds the same key
 * again; without it the key is random.
 */
export function appserverKeyPair(appserverId: string, comment: string, secret?: string): SshKeyPair {
  const seed = secret === undefined ? randomBytes(32) : createHmac('sha256', secret).update(`tenon-ovh-ssh-key:${appserverId}`).digest()
  const pair = forge.pki.ed25519.generateKeyPair({ seed })
  const publicKey = Buffer.from(pair.publicKey)
  // forge's private key is the 32-byte seed followed by the 32-byte public key, as OpenSSH stores it.
  const privateKey = Buffer.from(pair.privateKey)
  return { publicKey: publicKeyLine(publicKey, comment), privateKey: openSshPrivateKey(publicKey, privateKey, comment, seed) }
}

/** Whether two authorized_keys lines hold the same key (comments aside). */
export function samePublicKey(a: string, b: string): boolean {
  const fields = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ')
  return fields(a) === fields(b)
}

const KEY_TYPE = 'ssh-ed25519'

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}

function publicKeyBlob(publicKey: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)])
}

function publicKeyLine(publicKey: Buffer, comment: string): string {
  return `${KEY_TYPE} ${publicKeyBlob(publicKey).toString('base64')} ${comment}`
}

/** OpenSSH's "openssh-key-v1" container (PROTOCOL.key in OpenSSH's source), no cipher, no KDF. */
function openSshPrivateKey(publicKey: Buffer, privateKey: Buffer, comment: string, seed: Buffer): string {
  // The check integers only let OpenSSH notice a wrong passphrase; derived from the seed so the output is stable.
  const check = createHash('sha256').update(seed).digest().readUInt32BE(0)
  let secretPart = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(privateKey),
    sshString(comment),
  ])
  const padding: number[] = []
  for (let i = 1; (secretPart.length + padding.length) % 8 !== 0; i++) padding.push(i)
  secretPart = Buffer.concat([secretPart, Buffer.from(padding)])
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicKeyBlob(publicKey)),
    sshString(secretPart),
  ])
  const lines = body.toString('base64').match(/.{1,70}/g) ?? []
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n')
}
