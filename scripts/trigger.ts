// npm run trigger -- <source> [--version current] [--force] [--no-wait]
// Starts one ingestion now (any source, including on-event ones) and waits for its result.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../lib/config';
import { connectToRunning } from '../lib/infra/running';
import { startManualIngestion } from '../lib/temporal/start-ingestion';

const Args = z.object({
  source: z.string().regex(/^[a-z0-9_-]+$/, 'source must be a catalog name such as world_bank_agriculture'),
  version: z.string().min(1).default('current'),
  force: z.boolean().default(false),
  wait: z.boolean().default(true),
});

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { version: { type: 'string' }, force: { type: 'boolean' }, 'no-wait': { type: 'boolean' } },
  });
  const parsed = Args.safeParse({
    source: positionals[0],
    version: values.version,
    force: values.force,
    wait: !values['no-wait'],
  });
  if (!parsed.success) {
    throw new Error(
      `${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('\n')}\n` +
        'usage: npm run trigger -- <source> [--version current] [--force] [--no-wait]',
    );
  }
  const args = parsed.data;
  const running = await connectToRunning(loadConfig());
  try {
    const handle = await startManualIngestion(running.client, running.db, args);
    console.log(`started ${handle.workflowId}`);
    if (!args.wait) return;
    const result = await handle.result();
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await running.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
