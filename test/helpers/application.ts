// The real application for end-to-end tests, wired exactly as `npm start` wires it (migrations, catalog,
// search attributes, schedules, operator console, workers on all five queues) on a fresh test database,
// a Temporal dev server and a loopback fixture server. The World Bank sources read the fixture; every
// other source is deactivated and pointed at the fixture too, so nothing can reach a real host.
import { loadConfig } from '../../lib/config';
import { freePort } from '../../lib/infra/postgres';
import { type DevServer, startDevServer } from '../../lib/infra/temporal-server';
import { type Application, startApplication } from '../../workers/application';
import { runWorkers } from '../../workers/create-workers';
import { type FixtureHandler, type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { startTestDatabase } from './database';

export interface RunningApplication {
  app: Application;
  temporal: DevServer;
  fixture: FixtureServer;
  databaseUrl: string;
  /** The environment the application was configured from (for child processes such as the CLI). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestApplication(opts: {
  handler: FixtureHandler;
  env?: Record<string, string>;
}): Promise<RunningApplication> {
  const database = await startTestDatabase();
  const fixture = await startFixtureServer(opts.handler);
  const temporal = await startDevServer({ port: await freePort() });
  const env = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEDI_WORLD_BANK_BASE_URL: `${fixture.url}/v2`,
    TEDI_SECRET_KEY: 'b'.repeat(64),
    ...opts.env,
  };
  const app = await startApplication(loadConfig(env), {
    databaseUrl: database.url,
    temporalAddress: temporal.address,
    prepare: true,
  });
  const { prisma } = app.db;
  for (const source of await prisma.dataSource.findMany()) {
    const worldBank = source.connector === 'world-bank';
    if (!worldBank) await prisma.dataSource.update({ where: { id: source.id }, data: { isActive: false } });
    await prisma.dataSourceConfig.update({
      where: { dataSourceId: source.id },
      data: {
        ...(worldBank ? {} : { baseUrl: `${fixture.url}/${source.name}` }),
        rateLimitPerSecond: 1000,
        timeoutMs: 5000,
      },
    });
  }
  let stopWorkers: () => void = () => undefined;
  const running = runWorkers(app.workers, new Promise<void>((resolve) => (stopWorkers = resolve)));
  return {
    app,
    temporal,
    fixture,
    databaseUrl: database.url,
    env,
    async stop() {
      stopWorkers();
      await running.catch(() => undefined);
      await app.close();
      await temporal.stop();
      await fixture.close();
      await database.stop();
    },
  };
}
