import { type Config } from '@/lib/config'
import { createSecretBox, parseSecretKeys, type SecretBox } from './cipher'

export { createSecretBox, parseSecretKeys, sealJson, openJson, type SecretBox } from './cipher'

const cache = new WeakMap<Config, SecretBox>()

/** The process's secret box, from SECRETS_KEYS (the start-up scripts fill in a generated local key when unset). */
export function getSecretBox(config: Config): SecretBox {
  let box = cache.get(config)
  if (!box) {
    if (!config.secretsKeys) throw new Error('SECRETS_KEYS is not set (npm start generates one in DATA_DIR; tests set it)')
    box = createSecretBox(parseSecretKeys(config.secretsKeys))
    cache.set(config, box)
  }
  return box
}
