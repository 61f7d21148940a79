// Everything a workflow test runs on, all real: PostgreSQL (embedded or DATABASE_URL) with migrations
// and the catalog, a Temporal server, the project's own workers on all five task queues, and a loopback
// fixture server that speaks the World Bank API. The catalog's World Bank sources point at the fixture.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { loadCatalog } from '../../catalog/load';
import { type Database, openDatabase } from '../../lib/db';
import { TASK_QUEUES } from '../../lib/verticals';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { type FixtureHandler, type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { createWorldBankFixture, defaultWorldBankData, type WorldBankFixture } from '../fixtures/world-bank';
import { startTestDatabase } from './database';
import { startDevTemporal, startTimeSkippingTemporal } from './temporal';

export const TEST_SECRET_KEY = 'a'.repeat(64);

/** One fixture indicator per World Bank source keeps row counts easy to reason about: 20 years each. */
export const WB_SOURCES = {
  world_bank_agriculture: 'AG.PRD.CROP.XD',
  world_bank_employment: 'SL.UEM.TOTL.ZS',
  world_bank_business: 'IC.BUS.NREG',
} as const;
export type WbSource = keyof typeof WB_SOURCES;

export interface Harness {
  env: TestWorkflowEnvironment;
  db: Database;
  databaseUrl: string;
  fixture: FixtureServer;
  worldBank: WorldBankFixture;
  /** Replace the fixture's behaviour (e.g. an outage); `null` restores the World Bank fixture. */
  setHandler(handler: FixtureHandler | null): void;
  /**
   * Serves a source's API: every non-World Bank source's base URL is `${fixture.url}/<source name>`, and
   * its handler sees the paths as the real API has them (the prefix is stripped).
   */
  mount(sourceName: string, handler: FixtureHandler): void;
  versionId(source: WbSource | string): Promise<number>;
  stop(): Promise<void>;
}

/** The environment a CLI child (test/helpers/cli.ts runTedi) needs to use the harness's servers. */
export function harnessCliEnv(h: Harness): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: h.databaseUrl,
    TEMPORAL_ADDRESS: h.env.address,
    TEDI_SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: 'warn',
  };
}

export async function startHarness(opts: { timeSkipping?: boolean; workers?: boolean } = {}): Promise<Harness> {
  const database = await startTestDatabase();
  const db = openDatabase(database.url);
  const worldBank = createWorldBankFixture(defaultWorldBankData());
  let override: FixtureHandler | null = null;
  const mounts = new Map<string, FixtureHandler>();
  const fixture = await startFixtureServer((req) => {
    const [, first = ''] = req.path.split('/');
    const mounted = mounts.get(first);
    if (mounted && !override) return mounted({ ...req, path: req.path.slice(first.length + 1) || '/' });
    return (override ?? worldBank.handler)(req);
  });
  await loadCatalog(db.prisma, { worldBankBaseUrl: `${fixture.url}/v2`, worldBankCountries: ['BJ'] });
  // maxRetries 0: no request is tried again inside an activity attempt, so these tests see Temporal's own
  // retry policy (attempt counts, backoff gaps) as they pin it; test/unit/http-resilience.test.ts covers
  // the in-attempt retries.
  for (const source of await db.prisma.dataSource.findMany({ where: { connector: { not: 'world-bank' } } })) {
    await db.prisma.dataSourceConfig.update({
      where: { dataSourceId: source.id },
      data: { baseUrl: `${fixture.url}/${source.name}`, rateLimitPerSecond: 1000, timeoutMs: 5000, maxRetries: 0 },
    });
  }
  for (const [source, indicator] of Object.entries(WB_SOURCES)) {
    await db.prisma.dataSource.update({
      where: { name: source },
      data: { params: { indicators: [indicator], countries: ['BJ'] } },
    });
    // Tests drive time themselves; no client-side throttling between fixture calls.
    await db.prisma.dataSourceConfig.updateMany({
      where: { dataSource: { name: source } },
      data: { rateLimitPerSecond: 1000, timeoutMs: 5000, maxRetries: 0 },
    });
  }
  const env = opts.timeSkipping ? await startTimeSkippingTemporal() : await startDevTemporal();

  let workers: Worker[] = [];
  let running: Promise<void> = Promise.resolve();
  let stopWorkers: () => void = () => undefined;
  if (opts.workers !== false) {
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      deps: { db, secretKey: TEST_SECRET_KEY },
      queues: TASK_QUEUES,
    });
    running = runWorkers(workers, new Promise<void>((resolve) => (stopWorkers = resolve)));
  }

  return {
    env,
    db,
    databaseUrl: database.url,
    fixture,
    worldBank,
    setHandler(handler) {
      override = handler;
    },
    mount(sourceName, handler) {
      mounts.set(sourceName, handler);
    },
    async versionId(source) {
      const v = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: source } } });
      return v.id;
    },
    async stop() {
      stopWorkers();
      await running.catch(() => undefined);
      for (const [what, step] of [
        ['temporal', () => env.teardown()],
        ['fixture', () => fixture.close()],
        ['db', () => db.close()],
        ['database', () => database.stop()],
      ] as const) {
        await step().catch((err) => {
          throw new Error(`harness stop (${what}): ${err.message}`);
        });
      }
    },
  };
}
