// Where the servers are: the configured ones, or those `npm start` runs on this machine by default
// (embedded PostgreSQL, Temporal dev server). Kept free of client libraries, so a command that only
// needs an address (the CLI's database commands, --help) does not pay for loading the Temporal client.
import type { AppConfig } from '../config';

export function databaseUrlOf(config: AppConfig): string {
  return config.DATABASE_URL ?? `postgresql://postgres:tedi-local@127.0.0.1:${config.EMBEDDED_PG_PORT}/tedi`;
}

export function temporalAddressOf(config: AppConfig): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
}
