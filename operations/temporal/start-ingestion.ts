// Starting one ingestion by hand (operators, on-event sources), the same way the master does it:
// the vertical's task queue, a readable id and the search attributes the Web UI filters on.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Database } from '../../lib/db';
import { ingestionSummary, startedIngestionAttributes } from '../../lib/search-attributes';
import { taskQueueFor, type Vertical } from '../../lib/verticals';
import { manualIngestionId } from '../../workflows/ids';
import { type IngestInput, ingestDatasetVersion } from '../../workflows/ingest-dataset-version';

export interface ManualTrigger {
  source: string;
  version?: string;
  force?: boolean;
  /** Accept, for this run, an empty or shrunken snapshot the guards would refuse (recorded in the log row). */
  acceptRemovals?: boolean;
  trigger?: IngestInput['trigger'];
  /** On-event and file sources: the file path or URL to ingest. */
  event?: IngestInput['event'];
}

export async function startManualIngestion(
  client: Client,
  db: Database,
  req: ManualTrigger,
  now = new Date(),
): Promise<WorkflowHandle<typeof ingestDatasetVersion>> {
  const label = req.version ?? 'current';
  const version = await db.prisma.datasetVersion.findFirst({
    where: { version: label, dataSource: { name: req.source } },
    include: { dataSource: true },
  });
  if (!version) {
    const names = (await db.prisma.dataSource.findMany({ select: { name: true }, orderBy: { name: 'asc' } })).map(
      (s) => s.name,
    );
    throw new Error(`No dataset version "${label}" for source "${req.source}". Sources: ${names.join(', ')}`);
  }
  const source = version.dataSource;
  const trigger = req.trigger ?? 'manual';
  const ref = { vertical: source.vertical, source: source.name, version: version.version };
  return client.workflow.start(ingestDatasetVersion, {
    taskQueue: taskQueueFor(source.vertical as Vertical),
    workflowId: manualIngestionId(source.name, version.version, now.toISOString()),
    args: [
      {
        datasetVersionId: version.id,
        trigger,
        force: req.force,
        event: req.event,
        acceptRemovals: req.acceptRemovals,
      },
    ],
    typedSearchAttributes: startedIngestionAttributes(ref, trigger),
    staticSummary: ingestionSummary(ref, trigger),
  });
}
