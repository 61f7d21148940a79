// `tedi export <source> --format csv|parquet --out FILE`: every observation of a dataset version as of a
// revision or a date (the latest by default), optionally filtered by dimension, streamed to a file through
// the query layer (activities/store/export.ts). The file appears only when the export is complete.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { EXPORT_FORMATS, exportObservations } from '../../activities/store/export';
import { isoTime, jsonFlag, sourceName, versionLabel, wholeNumber } from './args';
import { withDatabase } from './context';
import { asUsageError, collect, whereFlags } from './data';
import { validateArgs } from './errors';
import { JSON_HELP, printJson } from './output';

const ExportArgs = z
  .object({
    source: sourceName,
    version: versionLabel,
    revision: wholeNumber({ max: 2_147_483_647, example: 1 }).optional(),
    asOf: isoTime.optional(),
    where: whereFlags,
    format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` }),
    out: z
      .string({ error: 'missing: give the file to write, e.g. --out alpha.parquet' })
      .trim()
      .min(1, 'needs a file name, e.g. alpha.parquet')
      .refine((f) => fs.existsSync(path.dirname(path.resolve(f))), 'its folder does not exist')
      .refine((f) => !fs.existsSync(f) || fs.statSync(f).isFile(), 'is a folder, not a file'),
    json: jsonFlag,
  })
  .superRefine((a, ctx) => {
    if (a.revision !== undefined && a.asOf !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['asOf'], message: 'give --revision or --as-of, not both' });
    }
  });

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every observation of a dataset version (as of a revision or a date) to a CSV or Parquet file')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--revision <n>', 'the revision to export (default: the current revision)')
    .option('--as-of <date>', 'what TEDI held at this date or time (ISO 8601, UTC unless it has an offset)')
    .option('--where <dim=value>', 'only series with this dimension value, e.g. country=BEN (repeatable)', collect)
    .option('--format <format>', `${EXPORT_FORMATS.join(' or ')}`)
    .option('--out <file>', 'the file to write (written as <file>.tmp, renamed when complete)')
    .option('--json', JSON_HELP)
    .action(async (source, opts) => {
      const args = validateArgs(ExportArgs, { ...opts, source }, ['source']);
      const flags = {
        source: '<source>',
        version: '--version',
        dimensions: '--where',
        asOf: args.asOf ? '--as-of' : '--revision',
      };
      await withDatabase(async (db) => {
        const result = await exportObservations(
          db.pool,
          {
            source: args.source,
            version: args.version,
            asOf: args.revision ?? args.asOf,
            dimensions: args.where,
          },
          { format: args.format, file: args.out },
        ).catch((err) => {
          throw asUsageError(err, flags);
        });
        if (args.json) return printJson(result);
        const at = args.asOf ? ` (the revision at ${args.asOf.toISOString()})` : '';
        console.log(
          `${result.source}/${result.version} as of revision ${result.revision}${at} of ${result.currentRevision}: ` +
            `${result.rows} observations written to ${result.file} (${args.format})`,
        );
      });
    });
}
