// Starting ingestions and reading back what they wrote, for tests.
import { randomUUID } from 'node:crypto';
import type { IngestInput, IngestResult } from '../../workflows/ingest-dataset-version';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import type { Harness } from './harness';

/** Fast retries so a test of a failing source takes milliseconds, not minutes. */
export const FAST_RETRY = { initialIntervalMs: 50, maximumAttempts: 2 };

export async function runIngestion(
  h: Harness,
  source: string,
  extra: Partial<IngestInput> = {},
): Promise<IngestResult> {
  const datasetVersionId = await h.versionId(source);
  const v = await h.db.prisma.datasetVersion.findUniqueOrThrow({
    where: { id: datasetVersionId },
    include: { dataSource: true },
  });
  return h.env.client.workflow.execute(ingestDatasetVersion, {
    taskQueue: v.dataSource.vertical,
    workflowId: `test-ingest-${source}-${randomUUID()}`,
    args: [{ datasetVersionId, trigger: 'manual', retry: FAST_RETRY, ...extra }],
  });
}

export async function logsOf(h: Harness, source: string) {
  return h.db.prisma.ingestionLog.findMany({
    where: { datasetVersion: { dataSource: { name: source } } },
    orderBy: { id: 'asc' },
  });
}

export async function versionOf(h: Harness, source: string) {
  return h.db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: source } } });
}

/** Staging tables left in the tedi_staging schema (every finished run drops its own). */
export async function stagingTablesLeft(pool: import('pg').Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'tedi_staging'",
  );
  return rows[0]?.n ?? 0;
}
