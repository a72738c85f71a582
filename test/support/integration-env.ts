import { inject } from 'vitest'

// Runs before each integration test file, before anything reads the config.
process.env.DATABASE_URL = inject('databaseUrl')
process.env.AUTH_SECRET ??= 'integration-tests-secret-integration-tests-secret'
process.env.LOG_LEVEL ??= 'silent'
Object.assign(process.env, { NODE_ENV: 'test' })
process.env.PUBLIC_URL = 'http://console.test'
process.env.HOSTING_ZONE = 'hosting.test'
process.env.SECRETS_KEYS ??= 'test1:' + Buffer.alloc(32, 7).toString('base64')
