// Where an operator command finds the running system: the configured servers, or the ones `npm start`
// brings up on this machine by default (embedded PostgreSQL, Temporal dev server).
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config';
import { type Database, openDatabase } from '../db';
import { redactUrlsInText } from '../redact';
import { databaseUrlOf, temporalAddressOf } from './addresses';
import { canConnect } from './postgres';
import { canReach } from './temporal-server';

export { databaseUrlOf, temporalAddressOf };

export interface Running {
  db: Database;
  client: Client;
  close(): Promise<void>;
}

/** Connects to the running system, or explains how to start it. */
export async function connectToRunning(config: AppConfig): Promise<Running> {
  const url = databaseUrlOf(config);
  const address = temporalAddressOf(config);
  if (!(await canConnect(url))) {
    throw new Error(
      `Cannot reach PostgreSQL at ${redactUrlsInText(url)}: start TEDI with \`npm start\` or set DATABASE_URL.`,
    );
  }
  if (!(await canReach(address))) {
    throw new Error(`Cannot reach Temporal at ${address}: start TEDI with \`npm start\` or set TEMPORAL_ADDRESS.`);
  }
  const db = openDatabase(url, { max: 2 });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  return {
    db,
    client,
    async close() {
      await connection.close();
      await db.close();
    },
  };
}
