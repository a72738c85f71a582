/**
 * A deployment's configuration is stored in two parts: the variables without their secret values (readable,
 * diffable, shown in the console) and the secret values alone, encrypted. These split and join them by the
 * blueprint's dotted secret paths.
 */
export function splitSecrets(
  variables: Record<string, unknown>,
  secretKeys: readonly string[],
): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
  const plain = structuredClone(variables)
  const secrets: Record<string, unknown> = {}
  for (const key of secretKeys) {
    const path = key.split('.')
    const parent = walk(plain, path.slice(0, -1))
    const leaf = path[path.length - 1]!
    if (parent && leaf in parent) {
      secrets[key] = parent[leaf]
      delete parent[leaf]
    }
  }
  return { plain, secrets }
}

export function joinSecrets(plain: Record<string, unknown>, secrets: Record<string, unknown>): Record<string, unknown> {
  const joined = structuredClone(plain)
  for (const [key, value] of Object.entries(secrets)) {
    const path = key.split('.')
    let node: Record<string, unknown> = joined
    for (const part of path.slice(0, -1)) {
      const next = node[part]
      if (!isRecord(next)) node[part] = {}
      node = node[part] as Record<string, unknown>
    }
    node[path[path.length - 1]!] = value
  }
  return joined
}

function walk(root: Record<string, unknown>, path: string[]): Record<string, unknown> | undefined {
  let node: unknown = root
  for (const part of path) {
    if (!isRecord(node)) return undefined
    node = node[part]
  }
  return isRecord(node) ? node : undefined
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
