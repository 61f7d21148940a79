// `tedi sources set <source> key=value...` and `tedi sources activate|deactivate <source>`: configuration
// without SQL. Validated before anything is written (source-settings.ts), written with its audit rows in
// one transaction (config-changes.ts). Only PostgreSQL is needed: a change takes effect at the source's
// next run, which reads its configuration from the database.
//
// Which wins, the CLI or catalog/sources.yaml: the database keeps what these commands set. params and
// is_active follow the file only while they still hold what the file last wrote (catalog/apply.ts), so
// a value set here survives every restart, and start-up prints a notice while the file says otherwise;
// data_source_configs columns are the database's from the source's creation on. `sources show` prints
// where the file and the database differ.
import type { Command } from 'commander';
import { z } from 'zod';
import { findSource, jsonFlag, sourceName } from './args';
import { withDatabase } from './context';
import { validateArgs } from './errors';
import { JSON_HELP, printJson } from './output';

const SetArgs = z.object({
  source: sourceName,
  assignments: z
    .array(z.string())
    .min(1, 'missing: give at least one key=value, e.g. countries=BJ,TG or rate_limit_per_second=2'),
  json: jsonFlag,
});
const ActiveArgs = z.object({ source: sourceName, json: jsonFlag });

const SET_HELP = [
  '',
  "Keys: the connector's params (e.g. countries, indicators, feedUrl) and the data_source_configs columns",
  'base_url, rate_limit_per_second, timeout_ms, max_retries, max_body_bytes, allow_empty_snapshot,',
  'max_removed_ratio, auth_type, api_key_param, api_key_in, bearer_login_url. `sources show` prints them.',
  'Values: a list as a,b,c (countries=BJ,TG), JSON when it starts with [ or { (quote it for the shell),',
  'numbers and true/false as such. key= (empty) removes a params key, so its default applies again.',
  '',
  'Every change is recorded (who, when, old -> new) and shown by `sources show`. The database keeps it:',
  'a restart with a catalog file that says otherwise keeps this value and prints a notice.',
  '',
  'Examples:',
  '  npm run tedi -- sources set world_bank_agriculture countries=BJ,TG',
  '  npm run tedi -- sources set ilostat rate_limit_per_second=0.5 timeout_ms=120000',
  '  npm run tedi -- sources set cadastre feedUrl=https://example.org/parcels.csv',
].join('\n');

function printChanges(
  source: string,
  changes: readonly { key: string; old: unknown; new: unknown }[],
  json: boolean,
  describe: (c: { key: string; old: unknown; new: unknown }) => string,
): void {
  if (json) printJson({ source, changes });
  else if (changes.length === 0) console.log(`${source}: no change (every value was already so)`);
  else console.log(`${source}: ${changes.map(describe).join('; ')} (recorded in config_changes)`);
}

async function setActive(name: string, active: boolean, json: boolean): Promise<void> {
  await withDatabase(async (db, config) => {
    const s = await findSource(db, name);
    const { applyConfigChange, currentAuthor, describeChange } = await import('./config-changes.js');
    if (s.isActive === active) return printChanges(s.name, [], json, describeChange);
    if (active) {
      const { catalogEntries } = await import('./sources.js');
      const { checkActivation } = await import('./source-settings.js');
      checkActivation(s, (await catalogEntries(config)).get(s.name)?.implemented ?? true);
    }
    const changes = await applyConfigChange(
      db,
      s.id,
      { isActive: active, config: {}, changes: [{ key: 'is_active', old: s.isActive, new: active }] },
      currentAuthor(process.argv.slice(2)),
    );
    printChanges(s.name, changes, json, describeChange);
  });
}

export function registerSourceSettings(sources: Command): void {
  sources
    .command('set')
    .description("set a source's params and configuration: key=value..., validated by its connector, recorded")
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .argument('<key=value...>', 'e.g. countries=BJ,TG rate_limit_per_second=2')
    .option('--json', JSON_HELP)
    .addHelpText('after', SET_HELP)
    .action(async (source, assignments, opts) => {
      const args = validateArgs(SetArgs, { ...opts, source, assignments }, ['source', 'assignments']);
      await withDatabase(async (db) => {
        const s = await findSource(db, args.source);
        const { planSettings } = await import('./source-settings.js');
        const { applyConfigChange, currentAuthor, describeChange } = await import('./config-changes.js');
        const plan = planSettings(s, args.assignments);
        const changes = await applyConfigChange(db, s.id, plan, currentAuthor(process.argv.slice(2)));
        printChanges(s.name, changes, args.json, describeChange);
      });
    });

  for (const active of [true, false]) {
    sources
      .command(active ? 'activate' : 'deactivate')
      .description(
        active
          ? 'let the master schedule a source again (its params must validate and it must have something to read)'
          : 'stop scheduling a source (its data stays; trigger --force and import still run it)',
      )
      .argument('<source>', 'source name, e.g. cadastre')
      .option('--json', JSON_HELP)
      .action(async (source, opts) => {
        const args = validateArgs(ActiveArgs, { ...opts, source }, ['source']);
        await setActive(args.source, active, args.json);
      });
  }
}
