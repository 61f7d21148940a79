// `tedi logs show <id>`: one ingestion log row in full, what the list cuts short: the whole error, every
// count, the rejected rows kept with it (row number and reason), and the run's page in the Temporal Web UI.
import type { Command } from 'commander';
import { z } from 'zod';
import { runUrl } from '../../api/status/view-model';
import { jsonFlag } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { formatCount, formatDuration, formatTime, JSON_HELP, printJson, renderFields } from './output';

const ShowArgs = z.object({
  id: z
    .string()
    .trim()
    .regex(/^\d{1,18}$/, 'must be a log id, the ID column of `npm run tedi -- logs`, e.g. 42')
    .transform(BigInt),
  json: jsonFlag,
});

const Reject = z.object({ row: z.unknown().optional(), reason: z.unknown().optional() }).loose();

export function registerLogShow(logs: Command): void {
  logs
    .command('show')
    .description('one log row in full: the whole error, the rejected rows, the counts, the Web UI link')
    .argument('<id>', 'the ID column of `npm run tedi -- logs`')
    .option('--json', JSON_HELP)
    .action(async (id, _opts, command: Command) => {
      // With the globals: `logs` has its own --json, and commander gives the flag to it.
      const args = validateArgs(ShowArgs, { ...command.optsWithGlobals(), id }, ['id']);
      await withDatabase(async (db, config) => {
        const log = await db.prisma.ingestionLog.findUnique({
          where: { id: args.id },
          include: { datasetVersion: { select: { version: true, dataSource: { select: { name: true } } } } },
        });
        if (!log) {
          throw new UsageError(`<id>: no ingestion log ${args.id}: see the ID column of \`npm run tedi -- logs\``);
        }
        const { datasetVersion, ...row } = log;
        const ui = { url: config.TEDI_TEMPORAL_UI_URL, namespace: config.TEMPORAL_NAMESPACE };
        const shown = {
          ...row,
          source: datasetVersion.dataSource.name,
          version: datasetVersion.version,
          rejects: Array.isArray(row.rejects) ? row.rejects.map((r) => Reject.parse(r)) : [],
          webUi: runUrl(ui, row.workflowId, row.runId),
        };
        if (args.json) return printJson(shown);
        const rejected = shown.rejects;
        console.log(
          [
            `log ${row.id}: ${shown.source}/${shown.version}, ${row.status} (trigger ${row.trigger})`,
            renderFields([
              ['started', formatTime(row.startedAt)],
              ['finished', formatTime(row.finishedAt)],
              ['took', formatDuration(row.durationMs)],
              ['revision', row.revision === null ? null : String(row.revision)],
              ['added', formatCount(row.recordsAdded)],
              ['updated', formatCount(row.recordsUpdated)],
              ['unchanged', formatCount(row.recordsUnchanged)],
              ['removed', formatCount(row.recordsRemoved)],
              ['kept', formatCount(row.recordsKept)],
              ['rejected', formatCount(row.recordsRejected)],
              ['bytes fetched', formatCount(row.bytesFetched)],
              ['checksum', row.checksum],
              ['probe token', row.probeToken],
              ['accepted', row.acceptedOverride],
              ['workflow', `${row.workflowId} (run ${row.runId})`],
              ['Web UI', shown.webUi],
            ]),
            ...(row.errorClass || row.errorMessage
              ? ['error', `  ${row.errorClass ?? 'Error'}: ${row.errorMessage ?? ''}`]
              : []),
            ...(rejected.length
              ? [
                  `rejected rows (${rejected.length} kept of ${formatCount(row.recordsRejected)})`,
                  ...rejected.map((r) => `  row ${String(r.row ?? '?')}: ${String(r.reason ?? '')}`),
                ]
              : []),
          ].join('\n'),
        );
      });
    });
}
