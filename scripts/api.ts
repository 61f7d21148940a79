// `npm run api`: the HTTP read API as its own process (production), on the database in DATABASE_URL,
// listening on TEDI_API_HOST:TEDI_API_PORT until SIGINT/SIGTERM, when it stops taking connections, lets
// the requests in flight finish and closes its database pool. `npm start` serves the same API itself.
import { listenFromConfig } from '../api/listen';
import { ConfigError, loadConfig } from '../lib/config';
import { openDatabase } from '../lib/db';
import { requireDatabase } from '../lib/infra/environment';

async function main() {
  const config = loadConfig();
  if (!config.DATABASE_URL) {
    throw new ConfigError(
      'The read API process needs DATABASE_URL (the database the application writes). ' +
        'For a local all-in-one run, `npm start` serves the API itself.',
    );
  }
  await requireDatabase(config.DATABASE_URL, 'The read API needs its database: start it or fix DATABASE_URL.');
  const db = openDatabase(config.DATABASE_URL);
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    const api = await listenFromConfig(config, db.pool);
    console.log(`[tedi] read API: ${api.url}/v1/sources (OpenAPI ${api.url}/openapi.json, page ${api.url}/docs)`);
    console.log(`[tedi] status page: ${api.url}/status (run links into ${config.TEDI_TEMPORAL_UI_URL})`);
    await stop;
    console.log('[tedi] read API stopping');
    await api.close();
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
