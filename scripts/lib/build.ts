import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'

/** What a production build is made from: a change to any of these means `next build` runs again. */
const SOURCES = [
  'app',
  'lib',
  'components',
  'provisioners',
  'proxy.ts',
  'public',
  'next.config.ts',
  'postcss.config.mjs',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'prisma/schema.prisma',
]

function sourceFingerprint(root: string): string {
  const hash = createHash('sha256')
  const walk = (p: string) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      if (path.basename(p) === 'generated') return
      for (const e of readdirSync(p).sort()) walk(path.join(p, e))
    } else {
      hash.update(path.relative(root, p)).update(readFileSync(p))
    }
  }
  for (const s of SOURCES) walk(path.join(root, s))
  return hash.digest('hex')
}

/**
 * Builds the Next.js app unless .next holds a build of exactly these sources. The first `npm start` on a
 * new machine builds (about a minute on 2 cores); later starts reuse the build.
 */
export async function buildIfNeeded(root: string, log: Logger): Promise<void> {
  const stamp = path.join(root, '.next', 'tenon-sources')
  const fingerprint = sourceFingerprint(root)
  if (existsSync(path.join(root, '.next', 'BUILD_ID')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === fingerprint) return
  log.info('building the console (next build); this takes a minute the first time')
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    })
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed with exit code ${code}`))))
    child.on('error', reject)
  })
  writeFileSync(stamp, fingerprint)
}
