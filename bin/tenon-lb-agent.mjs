#!/usr/bin/env node
// The load-balancer agent as an installed command: TypeScript through tsx, with the repository's tsconfig (its `@/`
// paths) wherever the command is started from.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) })
await import('../lb-agent/main.ts')
