// `tedi reset <source>`: closes a dataset version's circuit breaker; the next master run checks it again.
// It goes through the operator console's `resetBreaker` update, so every reset is recorded in Temporal
// (the console's history and its `status` query) like one made from the Web UI. Only when Temporal is
// down does it reset in the database directly, and says that this reset is not recorded there.
import type { Command } from 'commander';
import { z } from 'zod';
import type { OperatorAction } from '../../workflows/definitions';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/operator-console';
import { findVersion, jsonFlag, sourceName, versionLabel } from './args';
import { connectTemporalOrExplain, probeTemporal, withDatabase } from './context';
import { validateArgs } from './errors';
import { JSON_HELP, notice, printJson } from './output';

const ResetArgs = z.object({ source: sourceName, version: versionLabel, json: jsonFlag });

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description("close a dataset version's circuit breaker (recorded by the tedi-operator workflow)")
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--version <label>', 'dataset version (default: current)')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      [
        '',
        'The same with the Temporal CLI:',
        `  temporal workflow update execute --workflow-id ${OPERATOR_WORKFLOW_ID} --name resetBreaker \\`,
        `    --input '{"source":"world_bank_agriculture","version":"current"}'`,
      ].join('\n'),
    )
    .action(async (source, opts) => {
      const args = validateArgs(ResetArgs, { ...opts, source }, ['source']);
      await withDatabase(async (db, config) => {
        const v = await findVersion(db, args.source, args.version);
        const target = { source: args.source, version: args.version };
        let outcome: OperatorAction & { via: 'operator-console' | 'database' };
        const temporal = await probeTemporal(config);
        if (temporal.reachable) {
          const { resetThroughConsole } = await import('./operator-console');
          const { client, connection } = await connectTemporalOrExplain(config);
          try {
            outcome = { via: 'operator-console', ...(await resetThroughConsole(client, target)) };
          } finally {
            await connection.close();
          }
        } else {
          notice(
            `Temporal is not reachable at ${temporal.address}: resetting in the database directly; ` +
              `this reset is not recorded in ${OPERATOR_WORKFLOW_ID}'s history.`,
          );
          const { resetBreakerNow } = await import('../../activities/scheduling/breaker');
          const state = await resetBreakerNow(db, v.id);
          outcome = {
            via: 'database',
            at: new Date().toISOString(),
            action: 'resetBreaker',
            ...target,
            result: state.wasOpen
              ? `breaker closed (was open after ${state.consecutiveFailures} failures); due now`
              : 'breaker was closed; failure count cleared; due now',
          };
        }
        if (args.json) return printJson(outcome);
        const where = outcome.via === 'operator-console' ? ` (recorded by ${OPERATOR_WORKFLOW_ID})` : '';
        console.log(`${outcome.source}/${outcome.version}: ${outcome.result}${where}`);
      });
    });
}
