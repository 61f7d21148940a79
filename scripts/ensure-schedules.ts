// npm run schedules: creates or updates TEDI's schedules on the running Temporal server, keeping any
// pause an operator set, then prints each schedule's next run times.
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config';
import { temporalAddressOf } from '../lib/infra/running';
import { desiredSchedules, ensureSchedules } from '../lib/temporal/schedules';
import { ensureSearchAttributes } from '../lib/temporal/search-attributes-admin';

async function main() {
  const config = loadConfig();
  const connection = await Connection.connect({ address: temporalAddressOf(config) });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    const settings = {
      masterInterval: config.TEDI_MASTER_INTERVAL,
      logRetentionDays: config.TEDI_LOG_RETENTION_DAYS,
      maxChildrenInFlight: config.TEDI_MAX_CHILDREN_IN_FLIGHT,
    };
    const outcomes = await ensureSchedules(client, settings);
    for (const { scheduleId } of desiredSchedules(settings)) {
      const d = await client.schedule.getHandle(scheduleId).describe();
      const next = d.info.nextActionTimes
        .slice(0, 2)
        .map((t) => t.toISOString())
        .join(', ');
      console.log(`${scheduleId}: ${outcomes[scheduleId]}${d.state.paused ? ' (paused)' : ''}; next runs ${next}`);
    }
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
