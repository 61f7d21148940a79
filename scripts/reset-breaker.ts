// npm run reset-breaker -- <source> [--version current]
// Closes a dataset version's circuit breaker; the next master run checks it again.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { resetBreakerNow } from '../activities/scheduling/breaker';
import { loadConfig } from '../lib/config';
import { openDatabase } from '../lib/db';
import { databaseUrlOf } from '../lib/infra/running';

const Args = z.object({
  source: z.string().regex(/^[a-z0-9_-]+$/, 'source must be a catalog name such as world_bank_agriculture'),
  version: z.string().min(1).default('current'),
});

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { version: { type: 'string' } } });
  const parsed = Args.safeParse({ source: positionals[0], version: values.version });
  if (!parsed.success) {
    throw new Error(
      `${parsed.error.issues.map((i) => i.message).join('\n')}\nusage: npm run reset-breaker -- <source> [--version current]`,
    );
  }
  const db = openDatabase(databaseUrlOf(loadConfig()), { max: 1 });
  try {
    const v = await db.prisma.datasetVersion.findFirst({
      where: { version: parsed.data.version, dataSource: { name: parsed.data.source } },
    });
    if (!v) throw new Error(`No dataset version "${parsed.data.version}" for source "${parsed.data.source}".`);
    const state = await resetBreakerNow(db, v.id);
    console.log(
      state.wasOpen
        ? `breaker reset for ${parsed.data.source}/${parsed.data.version} (was open after ${state.consecutiveFailures} failures); due again now`
        : `breaker for ${parsed.data.source}/${parsed.data.version} was closed; failure count cleared, due now`,
    );
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
