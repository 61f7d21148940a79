// Database handles for activities and scripts: the Prisma client for catalog and audit-log work, and the
// plain `pg` pool underneath it for the bulk paths (COPY and set-based SQL), which Prisma cannot do fast.
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { logger } from './log';

export type { PrismaClient } from '../generated/prisma/client';

export interface Database {
  prisma: PrismaClient;
  pool: Pool;
  close(): Promise<void>;
}

export function openDatabase(url: string, opts: { max?: number } = {}): Database {
  const pool = new Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client that the server drops (restart, failover) must not crash the worker.
  pool.on('error', (err) => logger().warn({ err }, 'postgres pool error'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
