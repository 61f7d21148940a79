// How a command reaches the running system. Reads need only PostgreSQL, so `versions`, `logs` and `data`
// keep working while Temporal is down, which is when an operator needs them most; the schedule commands
// need only Temporal; starting and resetting things needs both (connectToRunning).
//
// Client libraries are loaded on use: the Temporal client takes about a third of a second to load, the
// Prisma client and the catalog a tenth each, and --help or a usage error should answer without them;
// a database command never loads the Temporal client.
import type { Client, Connection } from '@temporalio/client';
import { type AppConfig, loadConfig } from '../../lib/config';
import type { Database } from '../../lib/db';
import { databaseUrlOf, temporalAddressOf } from '../../lib/infra/addresses';
import { canConnect } from '../../lib/infra/postgres';
import type { Running } from '../../lib/infra/running';
import { canReach } from '../../lib/infra/temporal-server';
import { redactUrlsInText } from '../../lib/redact';
import { OperationFailed } from './errors';

export interface TemporalHandle {
  connection: Connection;
  client: Client;
}

// The same advice as connectToRunning gives, for the commands that need only one of the two servers.
const START_HINT = 'start TEDI with `npm start`';

export async function openDatabaseOrExplain(config: AppConfig): Promise<Database> {
  const url = databaseUrlOf(config);
  if (!(await canConnect(url))) {
    throw new OperationFailed(
      `Cannot reach PostgreSQL at ${redactUrlsInText(url)}: ${START_HINT} or set DATABASE_URL.`,
    );
  }
  const { openDatabase } = await import('../../lib/db.js');
  return openDatabase(url, { max: 2 });
}

export async function probeTemporal(config: AppConfig): Promise<{ address: string; reachable: boolean }> {
  const address = temporalAddressOf(config);
  return { address, reachable: await canReach(address) };
}

export async function connectTemporalOrExplain(config: AppConfig): Promise<TemporalHandle> {
  const { address, reachable } = await probeTemporal(config);
  if (!reachable) {
    throw new OperationFailed(`Cannot reach Temporal at ${address}: ${START_HINT} or set TEMPORAL_ADDRESS.`);
  }
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address });
  return { connection, client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }) };
}

export async function withDatabase<T>(fn: (db: Database, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabaseOrExplain(config);
  try {
    return await fn(db, config);
  } finally {
    await db.close();
  }
}

export async function withTemporal<T>(fn: (temporal: TemporalHandle, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const temporal = await connectTemporalOrExplain(config);
  try {
    return await fn(temporal, config);
  } finally {
    await temporal.connection.close();
  }
}

export async function withRunning<T>(fn: (running: Running, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { connectToRunning } = await import('../../lib/infra/running.js');
  const running = await connectToRunning(config);
  try {
    return await fn(running, config);
  } finally {
    await running.close();
  }
}
