// `tedi reset <source>` closes a dataset version's circuit breaker; `tedi reset --all` closes every open
// one (after an outage that opened many). The next master run checks them again. It goes through the
// operator console's `resetBreaker` / `resetAllBreakers` updates, so every reset is recorded in Temporal
// (the console's history and its `status` query, one action per version) like one made from the Web UI.
// Only when Temporal is down does it reset in the database directly, and says that this reset is not
// recorded there.
import type { Command } from 'commander';
import { z } from 'zod';
import type { Database } from '../../lib/db';
import { resetResult } from '../../lib/scheduling/frequency';
import type { OperatorAction } from '../../workflows/definitions';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/ids';
import { findVersion, jsonFlag, sourceName, versionLabel } from './args';
import { connectTemporalOrExplain, probeTemporal, withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, notice, printJson } from './output';

const ResetArgs = z.object({
  source: sourceName.optional(),
  version: versionLabel,
  all: z.boolean().default(false),
  json: jsonFlag,
});

type Via = 'operator-console' | 'database';

/** Exactly one of <source> and --all: a reset of everything is never an accident of a missing argument. */
function target(args: z.output<typeof ResetArgs>): { all: true } | { all: false; source: string } {
  if (args.all && args.source) {
    throw new UsageError('<source> and --all: give one source to reset, or --all (every open breaker), not both');
  }
  if (args.all) return { all: true };
  if (!args.source)
    throw new UsageError('<source>: missing; name the source to reset, or pass --all for every open breaker');
  return { all: false, source: args.source };
}

/** Without Temporal: the same resets in the database, not recorded in the console's history. */
async function resetInDatabase(db: Database, ids: Array<{ id: number; source: string; version: string }>) {
  const { resetBreakerNow } = await import('../../activities/scheduling/breaker.js');
  const actions: OperatorAction[] = [];
  for (const v of ids) {
    const state = await resetBreakerNow(db, v.id);
    actions.push({
      at: new Date().toISOString(),
      action: 'resetBreaker',
      source: v.source,
      version: v.version,
      result: resetResult(state),
    });
  }
  return actions;
}

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description(
      "close a dataset version's circuit breaker, or every open one (recorded by the tedi-operator workflow)",
    )
    .argument('[source]', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--all', 'close every open breaker (e.g. after an outage); one recorded action per version')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      [
        '',
        'The same with the Temporal CLI:',
        `  temporal workflow update execute --workflow-id ${OPERATOR_WORKFLOW_ID} --name resetBreaker \\`,
        `    --input '{"source":"world_bank_agriculture","version":"current"}'`,
        `  temporal workflow update execute --workflow-id ${OPERATOR_WORKFLOW_ID} --name resetAllBreakers`,
      ].join('\n'),
    )
    .action(async (source, opts) => {
      const args = validateArgs(ResetArgs, { ...opts, source }, ['source']);
      const what = target(args);
      await withDatabase(async (db, config) => {
        const one = what.all ? null : await findVersion(db, what.source, args.version);
        let via: Via;
        let actions: OperatorAction[];
        const temporal = await probeTemporal(config);
        if (temporal.reachable) {
          const { resetThroughConsole, resetAllThroughConsole } = await import('./operator-console.js');
          const { client, connection } = await connectTemporalOrExplain(config);
          try {
            via = 'operator-console';
            actions = what.all
              ? await resetAllThroughConsole(client)
              : [await resetThroughConsole(client, { source: what.source, version: args.version })];
          } finally {
            await connection.close();
          }
        } else {
          notice(
            `Temporal is not reachable at ${temporal.address}: resetting in the database directly; ` +
              `this reset is not recorded in ${OPERATOR_WORKFLOW_ID}'s history.`,
          );
          via = 'database';
          const { openBreakers } = await import('../../activities/scheduling/breaker.js');
          const ids =
            !what.all && one
              ? [{ id: one.id, source: what.source, version: args.version }]
              : (await openBreakers(db)).map((v) => ({ id: v.datasetVersionId, source: v.source, version: v.version }));
          actions = await resetInDatabase(db, ids);
        }
        if (args.json) return printJson(what.all ? { via, actions } : { via, ...actions[0] });
        const where = via === 'operator-console' ? ` (recorded by ${OPERATOR_WORKFLOW_ID})` : '';
        if (actions.length === 0) console.log('No open breakers: nothing to reset.');
        for (const a of actions) console.log(`${a.source}/${a.version}: ${a.result}${where}`);
      });
    });
}
