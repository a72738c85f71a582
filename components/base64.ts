/**
 * A file's bytes in base64, in the browser (what the certificate upload sends for a PKCS#12 bundle). In chunks:
 * spreading a whole file into String.fromCharCode overflows the call stack past a few hundred KiB.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000
  let binary = ''
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(binary)
}
