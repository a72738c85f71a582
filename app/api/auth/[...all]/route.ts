import { toNextJsHandler } from 'better-auth/next-js'
import { getAuth } from '@/lib/auth/better-auth'

// better-auth's own endpoints: /api/auth/sign-in/email, /api/auth/sign-out, /api/auth/get-session, …
export const { GET, POST } = toNextJsHandler((request: Request) => getAuth().handler(request))
