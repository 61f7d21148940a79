// Starting one ingestion by hand (operators, on-event sources), the same way the master does it:
// the vertical's task queue, a readable id and the search attributes the Web UI filters on.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Database } from '../../lib/db';
import { ingestionSummary, startedIngestionAttributes } from '../../lib/search-attributes';
import { taskQueueFor, type Vertical } from '../../lib/verticals';
import { getConnector } from '../../sources';
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

/**
 * A manual start that cannot work, refused before anything starts: no run, no log row, no breaker count.
 * The message names the source and says what to run instead.
 */
export class StartRefused extends Error {
  override name = 'StartRefused';
}

/** Why `req` cannot work for `source` (a file for a source that reads none; no file for one that needs it). */
async function refusalOf(
  db: Database,
  source: { name: string; connector: string; params: unknown },
  req: ManualTrigger,
): Promise<string | null> {
  const connector = getConnector(source.connector);
  if (req.event && !connector.files) {
    const all = await db.prisma.dataSource.findMany({
      select: { name: true, connector: true },
      orderBy: { name: 'asc' },
    });
    const fileSources = all.filter((s) => getConnector(s.connector).files).map((s) => s.name);
    return (
      `${source.name} cannot read files: its connector (${connector.name}) reads its own API. Files go into a ` +
      `file source: ${fileSources.join(', ') || 'none is catalogued'}; to ingest ${source.name}, trigger it.`
    );
  }
  // Params that do not validate fail the run itself as a ConfigurationError naming the field.
  const params = connector.paramsSchema.safeParse(source.params);
  const missing = !req.event && connector.files && params.success ? connector.files.missingFile(params.data) : null;
  if (!missing) return null;
  return (
    `${source.name} reads a file and ${missing}, so a run without one has nothing to read: import a file ` +
    `(npm run tedi -- import ${source.name} <file-or-url>), or set its feed URL ` +
    `(npm run tedi -- sources set ${source.name} feedUrl=https://…).`
  );
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
  const refusal = await refusalOf(db, source, req);
  if (refusal) throw new StartRefused(refusal);
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
