// `tedi db-url`: the connection string of the database this CLI uses (DATABASE_URL, or the embedded
// PostgreSQL `npm start` runs), for psql and other tools. The password is masked unless asked for, so the
// command can be run where others see the screen or the output is logged.
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../../lib/config';
import { databaseUrlOf } from '../../lib/infra/addresses';
import { redactUrl } from '../../lib/redact';
import { jsonFlag } from './args';
import { validateArgs } from './errors';
import { JSON_HELP, notice, printJson } from './output';

const DbUrlArgs = z.object({ showPassword: z.boolean().default(false), json: jsonFlag });

export function registerDbUrl(program: Command): void {
  program
    .command('db-url')
    .description('print the connection string of the database the CLI uses (password masked)')
    .option('--show-password', 'print the password too (e.g. psql "$(npm run -s tedi -- db-url --show-password)")')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(DbUrlArgs, opts);
      const config = loadConfig();
      const full = databaseUrlOf(config);
      const url = args.showPassword ? full : redactUrl(full);
      const from = config.DATABASE_URL
        ? 'DATABASE_URL'
        : `embedded PostgreSQL (EMBEDDED_PG_PORT ${config.EMBEDDED_PG_PORT})`;
      if (args.json) return printJson({ url, from, passwordShown: args.showPassword });
      console.log(url);
      notice(`from ${from}${args.showPassword ? '' : '; --show-password prints the password'}`);
    });
}
