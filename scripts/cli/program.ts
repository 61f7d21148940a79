// The tedi command line: one commander program, each command group registered by its own module.
// Errors end here: usage errors (exit 2) and failed operations (exit 1) print one clear message on stderr.
import { Command, CommanderError } from 'commander';
import { registerAlerts } from './alerts';
import { registerData } from './data';
import { registerDbUrl } from './db-url';
import { exitCodeOf, rootMessage, UsageError } from './errors';
import { registerExport } from './export';
import { registerImport } from './import';
import { registerLogs } from './logs';
import { registerReset } from './reset';
import { registerSchedules } from './schedules';
import { registerSetKey } from './set-key';
import { registerSources } from './sources';
import { registerSubscriptions } from './subscriptions';
import { registerTrigger } from './trigger';
import { registerVersions } from './versions';

export function buildProgram(): Command {
  const program = new Command('tedi')
    .usage('<command> [options]   (from npm: npm run tedi -- <command> [options])')
    .description(
      'Operate TEDI Ingest: sources, dataset versions, logs, data, ingestions, breakers, API keys, schedules.',
    )
    // Set before any command is added: subcommands inherit these settings.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Every command takes --json. Exit status: 0 done, 1 the operation failed, 2 bad input.',
        'Servers: DATABASE_URL and TEMPORAL_ADDRESS, or the ones `npm start` runs locally.',
      ].join('\n'),
    );
  registerSources(program);
  registerVersions(program);
  registerLogs(program);
  registerData(program);
  registerExport(program);
  registerTrigger(program);
  registerImport(program);
  registerReset(program);
  registerSetKey(program);
  registerSchedules(program);
  registerSubscriptions(program);
  registerAlerts(program);
  registerDbUrl(program);
  return program;
}

/** Runs the command line `argv` (process.argv form) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander has already printed its own message (unknown option, missing argument, help).
    if (!(err instanceof CommanderError)) {
      const hint = err instanceof UsageError ? '\n(add --help for usage)' : '';
      process.stderr.write(`error: ${rootMessage(err)}${hint}\n`);
    }
    return exitCodeOf(err);
  }
}
