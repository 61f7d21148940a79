// `tedi set-key <source>`: stores a source's API key, encrypted under TEDI_SECRET_KEY (or the key kept in
// the data directory), the same key the workers decrypt with. The key is read from stdin only: a prompt
// with echo off on a terminal, or piped input; never from the command line, where shell history and the
// process list would keep it. It is never printed, logged or put in an error message.
import type { Command } from 'commander';
import { z } from 'zod';
import { encryptSecret, resolveSecretKey } from '../../lib/secrets';
import { findSource, jsonFlag, sourceName } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, printJson } from './output';

const MAX_KEY_LENGTH = 4096;

const SetKeyArgs = z.object({
  source: sourceName,
  username: z.string().trim().min(1, 'needs a user name, e.g. --username jdoe').max(200).optional(),
  clear: z.boolean().default(false),
  json: jsonFlag,
});

/** Reads one line from the terminal without echoing it; Ctrl-C aborts. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new UsageError('cancelled: no key stored'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A secret from stdin (a hidden prompt on a terminal, else piped input), checked without ever quoting it
 * back. `what` names it in the errors ("API key"); `prompt` in the terminal prompt.
 */
export async function readSecretFromStdin(
  what: string,
  opts: { prompt?: string; hint?: string } = {},
): Promise<string> {
  const raw = process.stdin.isTTY ? await promptHidden(`${opts.prompt ?? what} (input hidden): `) : await readPiped();
  const hint = opts.hint ?? '';
  const key = raw.replace(/\r?\n$/, '').trim();
  if (!key) throw new UsageError(`stdin: no ${what} given: type it at the prompt or pipe it in${hint}`);
  if (/[\r\n]/.test(key)) throw new UsageError(`stdin: ${what} must be a single line`);
  if ([...key].some((c) => c < ' ' || c === '\u007f'))
    throw new UsageError(`stdin: ${what} contains control characters`);
  if (key.length > MAX_KEY_LENGTH) throw new UsageError(`stdin: ${what} is longer than ${MAX_KEY_LENGTH} characters`);
  return key;
}

const readKey = (source: string) =>
  readSecretFromStdin('API key', { prompt: `API key for ${source}`, hint: ' (--clear removes a stored key)' });

export function registerSetKey(program: Command): void {
  program
    .command('set-key')
    .description("store a source's API key, encrypted (read from stdin; never echoed)")
    .argument('<source>', 'source name, e.g. un_comtrade')
    .option('--username <name>', 'also store the account user name (sources with an account, e.g. unido)')
    .option('--clear', 'remove the stored key and user name instead')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  npm run tedi -- set-key un_comtrade                   (prompts; input hidden)',
        '  pass show comtrade | npm run tedi -- set-key un_comtrade',
        '  npm run tedi -- set-key un_comtrade --clear',
        '',
        'The key is encrypted with TEDI_SECRET_KEY (or <TEDI_DATA_DIR>/secret.key when unset): set the same',
        'value for the workers, or they cannot decrypt it.',
      ].join('\n'),
    )
    .action(async (source, opts) => {
      const args = validateArgs(SetKeyArgs, { ...opts, source }, ['source']);
      if (args.clear && args.username) throw new UsageError('--username: cannot be combined with --clear');
      await withDatabase(async (db, config) => {
        const s = await findSource(db, args.source);
        if (!s.config) throw new UsageError(`<source>: "${s.name}" has no configuration row yet: start TEDI once`);
        // Resolved before the prompt, so a missing or unreadable key file fails before the operator types.
        const secretKey = resolveSecretKey(config.TEDI_SECRET_KEY, config.TEDI_DATA_DIR);
        const data = args.clear
          ? { apiKeyEncrypted: null, username: null }
          : {
              apiKeyEncrypted: encryptSecret(await readKey(s.name), secretKey),
              ...(args.username ? { username: args.username } : {}),
            };
        const saved = await db.prisma.dataSourceConfig.update({ where: { dataSourceId: s.id }, data });
        const summary = {
          source: s.name,
          apiKey: saved.apiKeyEncrypted ? 'set' : 'not set',
          username: saved.username,
          encryptedWith: config.TEDI_SECRET_KEY ? 'TEDI_SECRET_KEY' : `${config.TEDI_DATA_DIR}/secret.key`,
        };
        if (args.json) return printJson(summary);
        console.log(
          args.clear
            ? `${s.name}: API key and user name removed`
            : `${s.name}: API key stored, encrypted with ${summary.encryptedWith}${saved.username ? `; user name ${saved.username}` : ''}`,
        );
      });
    });
}
