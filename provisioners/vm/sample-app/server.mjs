// The stand-in for an Open edX appserver that the `local` VM driver runs as a process. Plain Node ESM, no
// dependencies and no build step, so the driver can start it with nothing but `node`. See README.md.
//
// node server.mjs --tenon-owner=TAG --tenon-appserver=ID --config PATH --port-file PATH

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const USAGE = 'usage: node server.mjs --tenon-owner=TAG --tenon-appserver=ID --config PATH --port-file PATH'

/** Exit code for a command line the driver should never produce: a bug, not a configuration problem. */
const EXIT_USAGE = 2

function readArgs() {
  try {
    const { values } = parseArgs({
      options: {
        config: { type: 'string' },
        'port-file': { type: 'string' },
        'tenon-owner': { type: 'string' },
        'tenon-appserver': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    })
    const missing = ['config', 'port-file', 'tenon-owner', 'tenon-appserver'].filter((name) => !values[name])
    if (missing.length > 0) throw new Error(`missing ${missing.map((m) => `--${m}`).join(', ')}`)
    return {
      configPath: values.config,
      portFile: values['port-file'],
      owner: values['tenon-owner'],
      appserverId: values['tenon-appserver'],
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`)
    process.exit(EXIT_USAGE)
  }
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, at most 253 characters.
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const SECRET_MIN_LENGTH = 32

const isNonEmptyString = (v) => typeof v === 'string' && v.trim() !== ''

/**
 * Checks the keys this app relies on and returns one message per problem. Messages name the key and never
 * quote its value: some values are secrets, and these messages are printed and served on /heartbeat.
 */
function validateConfiguration(config) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return ['configuration must be a JSON object']
  const errors = []
  if (!isNonEmptyString(config.PLATFORM_NAME)) errors.push('PLATFORM_NAME must be a non-empty string')
  if (typeof config.LMS_HOST !== 'string' || !HOSTNAME.test(config.LMS_HOST)) errors.push('LMS_HOST must be a host name')
  if (config.CMS_HOST !== undefined && (typeof config.CMS_HOST !== 'string' || !HOSTNAME.test(config.CMS_HOST))) {
    errors.push('CMS_HOST must be a host name when set')
  }
  if (!isNonEmptyString(config.OPENEDX_RELEASE)) errors.push('OPENEDX_RELEASE must be a non-empty string')
  // Tutor, whose variable names the blueprint renders, calls Django's SECRET_KEY OPENEDX_SECRET_KEY.
  const secretKeyName = config.OPENEDX_SECRET_KEY !== undefined ? 'OPENEDX_SECRET_KEY' : 'SECRET_KEY'
  const secretKey = config[secretKeyName]
  if (typeof secretKey !== 'string' || secretKey.length < SECRET_MIN_LENGTH) {
    errors.push(`${secretKeyName} must be a string of at least ${SECRET_MIN_LENGTH} characters`)
  }
  return errors
}

function loadConfiguration(path) {
  let text
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    return { config: {}, errors: [`configuration file cannot be read (${error.code ?? 'error'})`] }
  }
  let config
  try {
    config = JSON.parse(text)
  } catch {
    // The parser's message can quote part of the file, which may be a secret.
    return { config: {}, errors: ['configuration file is not valid JSON'] }
  }
  const usable = config !== null && typeof config === 'object' && !Array.isArray(config)
  return { config: usable ? config : {}, errors: validateConfiguration(config) }
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

function renderPage({ config, errors, appserverId }) {
  const str = (v, fallback) => (typeof v === 'string' && v !== '' ? v : fallback)
  const platform = str(config.PLATFORM_NAME, 'Unconfigured platform')
  const facts = [
    ['Release', str(config.OPENEDX_RELEASE, 'unknown')],
    ['LMS host', str(config.LMS_HOST, 'unknown')],
    ['Studio host', str(config.CMS_HOST, 'not set')],
    ['Contact', str(config.CONTACT_EMAIL, 'not set')],
  ]
  const problems =
    errors.length === 0
      ? ''
      : `<section aria-labelledby="problems"><h2 id="problems">Configuration problems</h2><ul>${errors
          .map((e) => `<li>${escapeHtml(e)}</li>`)
          .join('')}</ul></section>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(platform)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}dt{font-weight:600}dd{margin:0 0 .5rem}footer{margin-top:2rem;color:#444;font-size:.9rem}</style>
</head>
<body>
<main>
<h1>${escapeHtml(platform)}</h1>
<p>A sample learning platform standing in for Open edX.</p>
<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${problems}
</main>
<footer><p>Served by appserver ${escapeHtml(appserverId)}</p></footer>
</body>
</html>
`
}

function writeFileAtomically(path, content) {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, content, { mode: 0o600 })
  renameSync(tmp, path)
}

function main() {
  const { configPath, portFile, appserverId } = readArgs()
  const { config, errors } = loadConfiguration(configPath)
  const page = renderPage({ config, errors, appserverId })

  const server = createServer((req, res) => {
    // Which appserver answered, on every response: the routing tests check where traffic went without parsing pages.
    res.setHeader('x-tenon-appserver', appserverId)
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
      res.end('method not allowed\n')
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/heartbeat') {
      if (errors.length > 0) json(503, { status: 'invalid-configuration', appserver: appserverId, errors })
      else json(200, { status: 'ok', appserver: appserverId, release: config.OPENEDX_RELEASE })
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(page)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found\n')
    }
  })

  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    writeFileAtomically(portFile, `${port}\n`)
    process.stdout.write(`appserver ${appserverId} listening on 127.0.0.1:${port}\n`)
    if (errors.length > 0) process.stderr.write(`appserver ${appserverId} has an invalid configuration: ${errors.join('; ')}\n`)
  })

  let stopping = false
  const stop = (signal) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`appserver ${appserverId} stopping on ${signal}\n`)
    // A port file left behind would point the driver at a port nobody listens on any more.
    rmSync(portFile, { force: true })
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main()
