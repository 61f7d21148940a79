// Starting the read API from the configuration, for `npm start` and `npm run api`: listens on
// TEDI_API_HOST:TEDI_API_PORT, and a port that is taken stops start-up with an error naming the variable.
import type { Pool } from 'pg';
import { type AppConfig, ConfigError } from '../lib/config';
import { resolveSecretKey } from '../lib/secrets';
import { type RunningApi, startApi } from './server';

export async function listenFromConfig(config: AppConfig, pool: Pool): Promise<RunningApi> {
  try {
    return await startApi({
      pool,
      host: config.TEDI_API_HOST,
      port: config.TEDI_API_PORT,
      temporalUiUrl: config.TEDI_TEMPORAL_UI_URL,
      temporalNamespace: config.TEMPORAL_NAMESPACE,
      secretKey: resolveSecretKey(config.TEDI_SECRET_KEY, config.TEDI_DATA_DIR),
      adminToken: config.TEDI_API_ADMIN_TOKEN,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(
        `The read API cannot listen on ${config.TEDI_API_HOST}:${config.TEDI_API_PORT} (${code}): ` +
          'set TEDI_API_PORT to a free port (or TEDI_API_HOST to an address of this machine).',
      );
    }
    throw err;
  }
}
