// The cluster fault tests' harness: the real cluster mode (scripts/cluster/cluster.ts) on free loopback
// ports and a temporary data directory — Temporal server on PostgreSQL, compiled worker processes — plus a
// client, TEDI's database, and a large FAOSTAT bulk file served over loopback for the loads to break.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type Database, openDatabase } from '../../lib/db';
import { freeTemporalPorts } from '../../lib/infra/cluster/temporal-server-process';
import { freePort } from '../../lib/infra/postgres';
import { type Cluster, startCluster } from '../../scripts/cluster/cluster';
import type { WorkerProcessSpec } from '../../scripts/cluster/topology';
import { type QclOptions, qclCsv } from '../bench/qcl-shape';
import { buildBulkZip, CATALOGUE_PATH, createFaostatFixture } from '../fixtures/faostat';
import { type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { TEST_SECRET_KEY } from './harness';

export interface TestCluster {
  cluster: Cluster;
  db: Database;
  client: Client;
  connection: Connection;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestCluster(
  opts: { workers?: WorkerProcessSpec[]; env?: NodeJS.ProcessEnv; api?: boolean; restartWorkersAfterMs?: number } = {},
): Promise<TestCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cluster-test-'));
  const cluster = await startCluster({
    dataDir,
    namespace: 'default',
    temporalPorts: await freeTemporalPorts(),
    temporalPgPort: await freePort(),
    appPgPort: await freePort(),
    uiPort: null,
    api: opts.api ? { host: '127.0.0.1', port: await freePort() } : null,
    workers: opts.workers,
    restartWorkersAfterMs: opts.restartWorkersAfterMs,
    env: {
      LOG_LEVEL: 'warn',
      TEDI_SECRET_KEY: TEST_SECRET_KEY,
      // The catalog's sources point at the real APIs, unreachable here: no master run unless a test starts
      // one. Not at creation, and not at the next 6-hour mark either (interval schedules align to the epoch,
      // so a test running at 18:00 UTC would meet a real tick): the next tick is 100 years away.
      TEDI_MASTER_FIRST_RUN: 'next-interval',
      TEDI_MASTER_INTERVAL: '36500d',
      ...opts.env,
    },
    log: (line) => process.env.DEBUG_CLUSTER && console.log(`[cluster] ${line}`),
    onProcessLine: (name, line) => process.env.DEBUG_CLUSTER && console.log(`${name} | ${line}`),
  });
  const db = openDatabase(cluster.databaseUrl);
  const connection = await Connection.connect({ address: cluster.temporalAddress });
  const client = new Client({ connection, namespace: cluster.namespace });
  return {
    cluster,
    db,
    client,
    connection,
    dataDir,
    async close() {
      await connection.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      await cluster.stop();
      if (!process.env.DEBUG_CLUSTER) fs.rmSync(dataDir, { recursive: true, force: true });
      else console.log(`[cluster] logs kept in ${cluster.logDir}`);
    },
  };
}

/** Every FAO area code of the synthetic QCL file (qcl-shape.ts): the catalog then keeps every row. */
const ALL_AREAS = Array.from({ length: 250 }, (_, i) => String(i + 1));

export interface LargeFaostat {
  server: FixtureServer;
  /** The rows of the file now served. */
  rows: number;
  versionId: number;
  /**
   * Serves another file from now on: `rows` rows of the same shape (`value`: row i's value), published on
   * `dateUpdate` (the catalogue's DateUpdate is part of the probe token, so the next check fetches it).
   */
  setRows(rows: number, opts: { value?: QclOptions['value']; dateUpdate: string }): Promise<void>;
}

/**
 * Serves a synthetic QCL bulk file of `rows` rows over loopback and points the catalog's `faostat` source
 * at it (every area kept), so one ingestion stages and loads all of them.
 */
export async function serveLargeFaostat(db: Database, rows: number): Promise<LargeFaostat> {
  const fixture = createFaostatFixture();
  fixture.zipOverride = await buildBulkZip(Buffer.concat([...qclCsv(rows)]));
  const server = await startFixtureServer(fixture.handler);
  fixture.publicUrl = server.url;
  const source = await db.prisma.dataSource.findUniqueOrThrow({ where: { name: 'faostat' } });
  await db.prisma.dataSource.update({
    where: { id: source.id },
    data: {
      params: { ...(source.params as object), areas: ALL_AREAS, bulkCatalogUrl: `${server.url}${CATALOGUE_PATH}` },
    },
  });
  await db.prisma.dataSourceConfig.update({
    where: { dataSourceId: source.id },
    data: { baseUrl: server.url, rateLimitPerSecond: 1000 },
  });
  const version = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: 'faostat' } } });
  const large: LargeFaostat = {
    server,
    rows,
    versionId: version.id,
    async setRows(n, opts) {
      fixture.zipOverride = await buildBulkZip(Buffer.concat([...qclCsv(n, { value: opts.value })]));
      fixture.setDateUpdate(opts.dateUpdate);
      large.rows = n;
    },
  };
  return large;
}

/** The worker identity Temporal recorded for each started attempt of an activity type, in order. */
export async function attemptsOf(
  client: Client,
  workflowId: string,
  activityType: string,
): Promise<{ attempt: number; identity: string }[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: { attempt: number; identity: string }[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activityType) {
      attempts.push({ attempt: started.attempt ?? 1, identity: started.identity ?? '' });
    }
  }
  return attempts;
}
