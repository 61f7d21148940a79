// `tedi logs`: the ingestion audit log (one row per attempt, whatever its outcome), newest first.
import type { Command } from 'commander';
import { z } from 'zod';
import type { Prisma } from '../../generated/prisma/client';
import { findSource, jsonFlag, sinceTime, sourceName, wholeNumber } from './args';
import { withDatabase } from './context';
import { validateArgs } from './errors';
import { shortFailure } from './failure-text';
import { registerLogShow } from './log-show';
import { formatCount, formatDuration, formatTime, JSON_HELP, printJson, printTable, truncate } from './output';

export const LOG_STATUSES = ['success', 'no_change', 'failed', 'skipped', 'running'] as const;

function logArgs(now: Date) {
  return z.object({
    source: sourceName.optional(),
    status: z.enum(LOG_STATUSES, { error: `must be one of ${LOG_STATUSES.join(', ')}` }).optional(),
    since: sinceTime(now).optional(),
    limit: wholeNumber({ max: 10_000, example: 50 }).default(50),
    json: jsonFlag,
  });
}

export function registerLogs(program: Command): void {
  const logs = program
    .command('logs')
    .description('ingestion log, newest first: every attempt with its outcome, counts and error')
    .option('--source <name>', 'only this source')
    .option('--status <status>', `only this outcome: ${LOG_STATUSES.join(', ')}`)
    .option('--since <when>', 'only attempts started since a date (2026-01-01, 2026-01-01T06:00Z) or an age (7d, 12h)')
    .option('--limit <n>', 'at most this many rows (default 50)')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(logArgs(new Date()), opts);
      await withDatabase(async (db) => {
        const where: Prisma.IngestionLogWhereInput = {
          ...(args.source
            ? { datasetVersion: { dataSourceId: (await findSource(db, args.source, '--source')).id } }
            : {}),
          ...(args.status ? { status: args.status } : {}),
          ...(args.since ? { startedAt: { gte: args.since } } : {}),
        };
        const logs = await db.prisma.ingestionLog.findMany({
          where,
          include: { datasetVersion: { select: { version: true, dataSource: { select: { name: true } } } } },
          orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
          take: args.limit,
        });
        const rows = logs.map(({ datasetVersion, ...log }) => ({
          ...log,
          source: datasetVersion.dataSource.name,
          version: datasetVersion.version,
        }));
        if (args.json) return printJson(rows);
        printTable(
          rows,
          [
            { header: 'ID', value: (r) => String(r.id), align: 'right' },
            { header: 'STARTED', value: (r) => formatTime(r.startedAt) },
            { header: 'SOURCE/VERSION', value: (r) => `${r.source}/${r.version}` },
            { header: 'TRIGGER', value: (r) => r.trigger },
            { header: 'STATUS', value: (r) => r.status },
            { header: 'TOOK', value: (r) => formatDuration(r.durationMs), align: 'right' },
            {
              header: '+ADDED ~UPD -REM !REJ',
              value: (r) =>
                [r.recordsAdded, r.recordsUpdated, r.recordsRemoved, r.recordsRejected].map(formatCount).join(' '),
            },
            { header: 'REV', value: (r) => (r.revision === null ? '-' : String(r.revision)), align: 'right' },
            {
              header: 'ERROR',
              // The request URL shortened to its host, so the root cause at the end of the message shows.
              value: (r) => (r.errorMessage ? truncate(`${r.errorClass}: ${shortFailure(r.errorMessage)}`, 120) : ''),
            },
          ],
          'No ingestion logs match.',
        );
      });
    });
  registerLogShow(logs);
}
