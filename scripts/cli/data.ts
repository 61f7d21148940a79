// `tedi data <source>`: the observations of a dataset version as they were at a revision (the latest by
// default), read from the versioned store exactly as consumers read it.
import type { Command } from 'commander';
import { z } from 'zod';
import { observationsAsOf } from '../../activities/store/as-of';
import { findVersion, jsonFlag, sourceName, versionLabel, wholeNumber } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, notice, printJson, printTable } from './output';

const DataArgs = z.object({
  source: sourceName,
  version: versionLabel,
  revision: wholeNumber({ max: 2_147_483_647, example: 1 }).optional(),
  series: z.string().trim().min(1, 'needs a series key, e.g. AG.PRD.CROP.XD|BEN').optional(),
  limit: wholeNumber({ max: 1_000_000, example: 100 }).default(100),
  json: jsonFlag,
});

export function registerData(program: Command): void {
  program
    .command('data')
    .description('observations of a dataset version as of a revision (default: the current one)')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--revision <n>', 'the revision to read as of (default: the current revision)')
    .option('--series <key>', 'only this series, e.g. "AG.PRD.CROP.XD|BEN"')
    .option('--limit <n>', 'at most this many observations (default 100)')
    .option('--json', JSON_HELP)
    .action(async (source, opts) => {
      const args = validateArgs(DataArgs, { ...opts, source }, ['source']);
      await withDatabase(async (db) => {
        const v = await findVersion(db, args.source, args.version);
        const name = `${v.dataSource.name}/${v.version}`;
        if (v.currentRevision === 0) {
          if (args.json)
            return printJson({ source: args.source, version: v.version, revision: 0, total: 0, observations: [] });
          return console.log(`${name} has no data yet: run \`npm run tedi -- trigger ${args.source}\`.`);
        }
        const revision = args.revision ?? v.currentRevision;
        if (revision > v.currentRevision) {
          throw new UsageError(`--revision: ${name} has revisions 1 to ${v.currentRevision}`);
        }
        const all = await observationsAsOf(db.pool, v.id, { revision, seriesKey: args.series });
        const shown = all.slice(0, args.limit);
        if (args.json) {
          return printJson({
            source: args.source,
            version: v.version,
            revision,
            total: all.length,
            observations: shown,
          });
        }
        printTable(
          shown,
          [
            { header: 'SERIES', value: (o) => o.seriesKey },
            { header: 'PERIOD', value: (o) => o.period },
            { header: 'VALUE', value: (o) => o.value ?? '-', align: 'right' },
            { header: 'UNIT', value: (o) => o.unit ?? '' },
          ],
          args.series ? `No observations of series "${args.series}" at revision ${revision}.` : 'No observations.',
        );
        const more = all.length > shown.length ? ` (showing ${shown.length}; --limit for more)` : '';
        notice(`${name} as of revision ${revision} of ${v.currentRevision}: ${all.length} observations${more}`);
      });
    });
}
