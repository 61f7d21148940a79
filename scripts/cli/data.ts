// `tedi data <source>` and `tedi series <source>`: the observations of a dataset version as of a revision or
// a date (the latest by default), and its series with their dimensions, read through the query layer
// (activities/store/read.ts) over the tedi_read contract, exactly as consumers read them. Filters and the
// limit are SQL; `--format csv` streams every matching row to stdout through a server-side cursor.
import type { Command } from 'commander';
import { z } from 'zod';
import {
  countObservations,
  listSeries,
  MAX_LIMIT,
  OBSERVATION_CSV_HEADER,
  type ObservationRow,
  observationCsvLine,
  observations,
  ReadError,
  resolveVersion,
  streamObservations,
} from '../../activities/store/read';
import { isoTime, jsonFlag, sourceName, versionLabel, wholeNumber } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, notice, printJson, printTable, truncate } from './output';

/** `--where dim=value`, repeatable: commander collects them. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const whereFlags = z
  .array(z.string())
  .optional()
  .transform((items, ctx) => {
    if (!items?.length) return undefined;
    const dims: Record<string, string> = {};
    for (const item of items) {
      const eq = item.indexOf('=');
      const name = eq > 0 ? item.slice(0, eq).trim() : '';
      if (!name) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not dimension=value, e.g. --where country=BEN` });
        return z.NEVER;
      }
      const value = item.slice(eq + 1);
      if (name in dims && dims[name] !== value) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} given twice (${dims[name]}, ${value}): a series has one value per dimension`,
        });
        return z.NEVER;
      }
      dims[name] = value;
    }
    return dims;
  });

const FORMATS = ['table', 'json', 'csv'] as const;

const DataArgs = z
  .object({
    source: sourceName,
    version: versionLabel,
    revision: wholeNumber({ max: 2_147_483_647, example: 1 }).optional(),
    asOf: isoTime.optional(),
    series: z.string().trim().min(1, 'needs a series key, e.g. AG.PRD.CROP.XD|BEN').optional(),
    where: whereFlags,
    from: z.string().trim().min(1, 'needs a period, e.g. 2010').optional(),
    to: z.string().trim().min(1, 'needs a period, e.g. 2020').optional(),
    limit: wholeNumber({ max: MAX_LIMIT, example: 100 }).optional(),
    after: z.string().min(1, 'needs the cursor a previous page printed').optional(),
    format: z.enum(FORMATS, { error: `must be one of ${FORMATS.join(', ')}` }).optional(),
    json: jsonFlag,
  })
  .superRefine((a, ctx) => {
    if (a.revision !== undefined && a.asOf !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['asOf'], message: 'give --revision or --as-of, not both' });
    }
  });

const SeriesArgs = z.object({
  source: sourceName,
  version: versionLabel,
  where: whereFlags,
  prefix: z.string().min(1, 'needs the start of a series key, e.g. AG.PRD').optional(),
  limit: wholeNumber({ max: MAX_LIMIT, example: 100 }).default(100),
  after: z.string().min(1, 'needs the cursor a previous page printed').optional(),
  json: jsonFlag,
});

/** A query-layer error as the command line names it: `--revision: ...`, `--where: ...`. */
export function asUsageError(err: unknown, flags: Record<string, string>): unknown {
  if (!(err instanceof ReadError)) return err;
  const top = err.parameter.split('.')[0]!;
  return new UsageError(`${flags[top] ?? `--${top}`}: ${err.detail}`);
}

const DATA_FLAGS = {
  source: '<source>',
  version: '--version',
  series: '--series',
  dimensions: '--where',
  periodFrom: '--from',
  periodTo: '--to',
  limit: '--limit',
  after: '--after',
};

const attributesText = (o: ObservationRow) => (o.attributes ? JSON.stringify(o.attributes) : '');

/** Writes to stdout, waiting for it to drain when the pipe is full (a slow reader sets the pace). */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

export function registerData(program: Command): void {
  program
    .command('data')
    .description('observations of a dataset version as of a revision or a date (default: the current revision)')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--revision <n>', 'the revision to read as of (default: the current revision)')
    .option('--as-of <date>', 'what TEDI held at this date or time (ISO 8601, UTC unless it has an offset)')
    .option('--series <key>', 'only this series, e.g. "AG.PRD.CROP.XD|BEN"')
    .option('--where <dim=value>', 'only series with this dimension value, e.g. country=BEN (repeatable)', collect)
    .option('--from <period>', 'only periods from this one on, e.g. 2010 (compared as text)')
    .option('--to <period>', 'only periods up to this one, e.g. 2020 (compared as text)')
    .option('--limit <n>', `at most this many observations (default 100; csv: all), up to ${MAX_LIMIT}`)
    .option('--after <cursor>', 'the next page: the cursor the previous page printed')
    .option('--format <format>', `table (default), json or csv (csv streams every matching row)`)
    .option('--json', JSON_HELP)
    .action(async (source, opts) => {
      const args = validateArgs(DataArgs, { ...opts, source }, ['source']);
      const format = args.format ?? (args.json ? 'json' : 'table');
      const flags = { ...DATA_FLAGS, asOf: args.asOf ? '--as-of' : '--revision' };
      await withDatabase(async (db) => {
        try {
          const v = await resolveVersion(db.pool, args.source, args.version);
          const name = `${v.source}/${v.version}`;
          if (v.currentRevision === 0 && args.revision === undefined && !args.asOf && format !== 'csv') {
            if (format === 'json') {
              return printJson({ source: v.source, version: v.version, revision: 0, total: 0, observations: [] });
            }
            return console.log(`${name} has no data yet: run \`npm run tedi -- trigger ${args.source}\`.`);
          }
          const query = {
            source: args.source,
            version: args.version,
            asOf: args.revision ?? args.asOf,
            series: args.series,
            dimensions: args.where,
            periodFrom: args.from,
            periodTo: args.to,
          };
          if (format === 'csv') {
            const stream = streamObservations(db.pool, { ...query, limit: args.limit, after: args.after });
            // The first row is asked for before the header is written: bad input (checked when the stream
            // starts) must leave stdout empty.
            const rows = stream[Symbol.asyncIterator]();
            let next = await rows.next();
            await write(`${OBSERVATION_CSV_HEADER.join(',')}\n`);
            let n = 0;
            for (; !next.done; next = await rows.next()) {
              await write(observationCsvLine(next.value));
              n++;
            }
            const { revision } = await stream.ready;
            notice(`${name} as of revision ${revision} of ${v.currentRevision}: ${n} observations`);
            return;
          }
          const limit = args.limit ?? 100;
          const [page, total] = await Promise.all([
            observations(db.pool, { ...query, limit, after: args.after }),
            countObservations(db.pool, query),
          ]);
          if (format === 'json') {
            return printJson({
              source: v.source,
              version: v.version,
              revision: page.revision,
              total: total.count,
              observations: page.rows,
              next: page.next,
            });
          }
          const filtered = args.series || args.where || args.from || args.to;
          printTable(
            page.rows,
            [
              { header: 'SERIES', value: (o) => o.seriesKey },
              { header: 'PERIOD', value: (o) => o.period },
              { header: 'VALUE', value: (o) => o.value ?? '-', align: 'right' },
              { header: 'UNIT', value: (o) => o.unit ?? '' },
              { header: 'ATTRIBUTES', value: (o) => truncate(attributesText(o), 80) },
            ],
            filtered
              ? `No observations ${args.series ? `of series "${args.series}" ` : ''}matching at revision ${page.revision}.`
              : `No observations at revision ${page.revision}.`,
          );
          const more = page.next
            ? ` (showing ${page.rows.length}; next page: --after ${page.next}, or --limit for more)`
            : '';
          const at = args.asOf ? ` (the revision at ${args.asOf.toISOString()})` : '';
          notice(
            `${name} as of revision ${page.revision}${at} of ${v.currentRevision}: ${total.count} observations${more}`,
          );
        } catch (err) {
          throw asUsageError(err, flags);
        }
      });
    });

  program
    .command('series')
    .description('the series of a dataset version with their dimensions')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--where <dim=value>', 'only series with this dimension value, e.g. country=BEN (repeatable)', collect)
    .option('--prefix <text>', 'only series whose key starts with this, e.g. AG.PRD')
    .option('--limit <n>', `at most this many series (default 100), up to ${MAX_LIMIT}`)
    .option('--after <cursor>', 'the next page: the cursor the previous page printed')
    .option('--json', JSON_HELP)
    .action(async (source, opts) => {
      const args = validateArgs(SeriesArgs, { ...opts, source }, ['source']);
      await withDatabase(async (db) => {
        try {
          const page = await listSeries(db.pool, {
            source: args.source,
            version: args.version,
            dimensions: args.where,
            prefix: args.prefix,
            limit: args.limit,
            after: args.after,
          });
          if (args.json) {
            return printJson({ source: page.source, version: page.version, series: page.rows, next: page.next });
          }
          printTable(
            page.rows,
            [
              { header: 'SERIES', value: (s) => s.seriesKey },
              {
                header: 'DIMENSIONS',
                value: (s) =>
                  s.dimensions
                    ? Object.entries(s.dimensions)
                        .map(([k, val]) => `${k}=${val}`)
                        .join(' ')
                    : '',
              },
            ],
            'No series.',
          );
          const more = page.next ? `; next page: --after ${page.next}` : '';
          notice(`${page.source}/${page.version}: ${page.rows.length} series shown${more}`);
        } catch (err) {
          throw asUsageError(err, { ...DATA_FLAGS, prefix: '--prefix' });
        }
      });
    });
}
