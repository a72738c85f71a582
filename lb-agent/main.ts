/**
 * npm run lb-agent (or the `tenon-lb-agent` bin): the load-balancer agent of one HAProxy node. Reads its settings from
 * the environment through lib/config (the Ansible role `lb` writes them to /etc/tenon/lb-agent.env) and runs until
 * SIGTERM or SIGINT.
 */
import os from 'node:os'
import { ConfigError, getConfig } from '@/lib/config'
import { getLogger } from '@/lib/log'
import { createSecretBox, parseSecretKeys, type SecretBox } from '@/lib/secrets/cipher'
import { startLbAgent } from './agent'
import { createHaproxyControl } from './haproxy'

// The render's rule for HAProxy names (render.ts): checked here so that a bad host name stops the agent at once with
// the variable to set, instead of refusing every revision.
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

async function main() {
  const config = getConfig()
  if (!config.consul)
    throw new ConfigError([{ variable: 'CONSUL_HTTP_ADDR', message: 'is required: the Consul HTTP API the agent reads the routing from' }])
  const settings = config.lbAgent
  const nodeName = settings.nodeName ?? os.hostname()
  if (!NODE_NAME.test(nodeName))
    throw new ConfigError([
      { variable: 'LB_NODE_NAME', message: `is required: the host name ${JSON.stringify(nodeName)} is not usable as a node name` },
    ])

  // The same keys as the control plane's: certificates' private keys reach the agents encrypted with them.
  const lbKeys = config.certificates.lbKeys
  let certificateKeys: SecretBox | undefined
  try {
    certificateKeys = lbKeys ? createSecretBox(parseSecretKeys(lbKeys)) : undefined
  } catch (err) {
    throw new ConfigError([{ variable: 'LB_CERTIFICATE_KEYS', message: err instanceof Error ? err.message : String(err) }])
  }

  const log = getLogger()
  if (!certificateKeys) log.warn('LB_CERTIFICATE_KEYS is not set: routing revisions carrying certificates will be refused')
  const haproxy = createHaproxyControl({
    configDir: settings.configDir,
    statsSocket: settings.statsSocket,
    masterSocket: settings.masterSocket,
    haproxyBin: settings.haproxyBin,
  })
  const agent = startLbAgent({
    consul: { address: config.consul.address, token: config.consul.token },
    prefix: config.consul.prefix,
    render: {
      nodeName,
      bindAddress: settings.bindAddress,
      httpPort: settings.httpPort,
      httpsPort: settings.httpsPort,
      configDir: settings.configDir,
      statsSocket: settings.statsSocket,
      runAs: settings.runAs,
      statsSocketGroup: settings.socketGroup,
      syslog: settings.syslog,
    },
    haproxy,
    heartbeatMs: settings.heartbeatMs,
    certificateKeys,
    publicAddresses: settings.publicAddresses,
    log,
  })

  let stopping = false
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'stopping')
      // HAProxy keeps running with what it has; only the agent goes away.
      agent.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ error: err instanceof Error ? err.message : String(err) }, 'stopping failed')
          process.exit(1)
        },
      )
    })
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exit(1)
})
