// Prisma 7 reads its settings from here. The runtime never needs a URL from this file (it builds a
// @prisma/adapter-pg client from lib/config.ts); `prisma generate` needs none at all.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
