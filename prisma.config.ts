// Used by the Prisma CLI (`prisma generate`). Migrations do not go through the CLI: see scripts/db.ts.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
})
