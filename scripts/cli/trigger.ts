// `tedi trigger <source>`: one ingestion now, on the source's vertical queue, the way the master starts one.
import type { Command } from 'commander';
import { z } from 'zod';
import { findVersion, jsonFlag, sourceName, versionLabel } from './args';
import { withRunning } from './context';
import { validateArgs } from './errors';
import { JSON_HELP } from './output';

const TriggerArgs = z.object({
  source: sourceName,
  version: versionLabel,
  force: z.boolean().default(false),
  acceptRemovals: z.boolean().default(false),
  wait: z.boolean().default(true),
  json: jsonFlag,
});

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('ingest one dataset version now and wait for the result, showing progress')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--force', 'ingest even if inactive, its breaker is open, or nothing changed')
    .option(
      '--accept-removals',
      'accept, for this run, a snapshot the guards refuse as empty or removing too many rows (recorded in the log)',
    )
    .option('--no-wait', 'print the workflow id and return at once')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      '\nExit status: 0 when the ingestion succeeded, found no change or was skipped; 1 when it failed.\n' +
        'Ctrl-C stops waiting, not the ingestion: follow it in the Web UI or with `npm run tedi -- logs`.',
    )
    .action(async (source, opts) => {
      const args = validateArgs(TriggerArgs, { ...opts, source }, ['source']);
      // Loaded on use: it brings the Temporal client (see context.ts).
      const { runIngestion } = await import('./ingestion.js');
      await withRunning(async (running) => {
        await findVersion(running.db, args.source, args.version);
        await runIngestion(
          running,
          { source: args.source, version: args.version, force: args.force, acceptRemovals: args.acceptRemovals },
          { wait: args.wait, json: args.json },
        );
      });
    });
}
