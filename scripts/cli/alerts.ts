// Alerts from the command line:
//   tedi alerts [--open]                                   incidents, open ones first
//   tedi alerts channels                                   where alerts go, with delivery counts
//   tedi alerts add-channel <name> --kind webhook --url U  (prints the signing secret once)
//   tedi alerts add-channel <name> --kind slack            (the Slack webhook URL from stdin)
//   tedi alerts add-channel <name> --kind email --to a@x   (the SMTP URL from stdin)
//   tedi alerts remove-channel <name>
// Channels take --alert KIND and --source NAME filters (repeatable; none = all). Credentials are read
// from stdin (never the command line, where shell history keeps them) and stored encrypted.
import type { Command } from 'commander';
import { z } from 'zod';
import {
  AlertChannelError,
  createAlertChannel,
  listAlertChannels,
  listIncidents,
  removeAlertChannel,
} from '../../activities/alerts/channels';
import { ALERT_KINDS } from '../../activities/alerts/conditions';
import { resolveSecretKey } from '../../lib/secrets';
import { jsonFlag } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, notice, printJson, printTable } from './output';
import { readSecretFromStdin } from './set-key';

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A bad channel argument is a usage error naming the option it came from. */
async function explained<T>(work: () => Promise<T>): Promise<T> {
  const options: Record<string, string> = {
    url: '--url',
    to: '--to',
    smtpUrl: 'stdin (the SMTP URL)',
    kinds: '--alert',
    sources: '--source',
    name: '<name>',
    channel: '<name>',
  };
  try {
    return await work();
  } catch (err) {
    if (err instanceof AlertChannelError) {
      const field = err.field.split('.')[0] ?? err.field;
      throw new UsageError(err.message.replace(`${err.field}:`, `${options[field] ?? err.field}:`));
    }
    throw err;
  }
}

const AddChannelArgs = z.object({
  name: z.string(),
  kind: z.enum(['webhook', 'slack', 'email'], { error: 'must be webhook, slack or email' }),
  url: z.string().optional(),
  to: z.string().optional(),
  alert: z.array(z.string()).default([]),
  source: z.array(z.string()).default([]),
  json: jsonFlag,
});

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('incidents TEDI has alerted on, and the channels alerts go to');

  alerts
    .command('list', { isDefault: true })
    .description('incidents, open ones first, then the latest resolved')
    .option('--open', 'only open incidents')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      await withDatabase(async (db) => {
        const rows = await listIncidents(db.pool, { open: Boolean(opts.open) });
        if (opts.json) return printJson(rows);
        printTable(
          rows,
          [
            { header: 'ID', value: (i) => i.id, align: 'right' },
            { header: 'STATE', value: (i) => (i.resolvedAt ? 'resolved' : 'OPEN') },
            { header: 'KIND', value: (i) => i.kind },
            { header: 'SOURCE', value: (i) => i.source },
            { header: 'OPENED', value: (i) => when(i.openedAt) },
            { header: 'RESOLVED', value: (i) => when(i.resolvedAt) },
            { header: 'SUMMARY', value: (i) => i.summary },
          ],
          opts.open ? 'No open incidents.' : 'No incidents yet.',
        );
      });
    });

  alerts
    .command('channels')
    .description('alert channels, with how many notifications each has had')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      await withDatabase(async (db) => {
        const rows = await listAlertChannels(db.pool);
        if (opts.json) return printJson(rows);
        printTable(rows, [
          { header: 'NAME', value: (c) => c.name },
          { header: 'KIND', value: (c) => c.kind },
          { header: 'TARGET', value: (c) => c.target },
          { header: 'ALERTS', value: (c) => (c.kinds.length ? c.kinds.join(',') : 'all') },
          { header: 'SOURCES', value: (c) => (c.sources.length ? c.sources.join(',') : 'all') },
          { header: 'ACTIVE', value: (c) => (c.active ? 'yes' : 'no') },
          { header: 'SENT', value: (c) => String(c.notifications.delivered), align: 'right' },
          { header: 'PENDING', value: (c) => String(c.notifications.pending), align: 'right' },
          { header: 'FAILED', value: (c) => String(c.notifications.failed), align: 'right' },
          { header: 'LAST ERROR', value: (c) => c.lastError ?? '-' },
        ]);
      });
    });

  alerts
    .command('add-channel')
    .description('send alerts to a webhook, a Slack channel or e-mail')
    .argument('<name>', 'a name for the channel, e.g. ops-slack')
    .requiredOption('--kind <kind>', 'webhook, slack or email')
    .option('--url <url>', 'webhook: where alerts are POSTed')
    .option('--to <addresses>', 'email: recipients, comma-separated')
    .option('--alert <kind>', `only these alerts (repeat): ${ALERT_KINDS.join(', ')}`, collect)
    .option('--source <name>', 'only alerts about this source (repeat)', collect)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      [
        '',
        'Credentials come from stdin (a hidden prompt, or piped), never the command line:',
        '  slack: the incoming-webhook URL     echo "$SLACK_HOOK" | npm run tedi -- alerts add-channel ops --kind slack',
        '  email: the SMTP URL                 echo "smtps://user:pass@smtp.example.org:465" | \\',
        '                                        npm run tedi -- alerts add-channel ops-mail --kind email --to ops@example.org',
        '  webhook: none; TEDI prints the signing secret once (Tedi-Signature, as the change feed).',
      ].join('\n'),
    )
    .action(async (name, opts) => {
      const args = validateArgs(AddChannelArgs, { ...opts, name }, ['name']);
      if (args.kind === 'webhook' && !args.url) throw new UsageError('--url: a webhook channel needs --url');
      if (args.kind === 'email' && !args.to) throw new UsageError('--to: an email channel needs --to ops@example.org');
      if (args.kind !== 'webhook' && args.url) {
        throw new UsageError('--url: only for webhook channels (a Slack URL is a credential: give it on stdin)');
      }
      await withDatabase(async (db, config) => {
        const secretKey = resolveSecretKey(config.TEDI_SECRET_KEY, config.TEDI_DATA_DIR);
        const channel =
          args.kind === 'webhook'
            ? { kind: 'webhook' as const, url: args.url ?? '' }
            : args.kind === 'slack'
              ? { kind: 'slack' as const, url: await readSecretFromStdin('Slack webhook URL') }
              : {
                  kind: 'email' as const,
                  to: (args.to ?? '').split(',').map((a) => a.trim()),
                  smtpUrl: await readSecretFromStdin('SMTP URL', {
                    prompt: 'SMTP URL (smtp://user:password@host:port)',
                  }),
                };
        const created = await explained(() =>
          createAlertChannel(db.pool, secretKey, {
            name: args.name,
            kinds: args.alert,
            sources: args.source,
            ...channel,
          }),
        );
        if (args.json) return printJson(created);
        console.log(
          `alert channel ${created.channel.name} (${created.channel.kind} → ${created.channel.target}) created`,
        );
        if (created.signingSecret) {
          console.log(`  signing secret: ${created.signingSecret}`);
          notice('Keep the signing secret: it is shown only now; verify Tedi-Signature with it.');
        }
      });
    });

  alerts
    .command('remove-channel')
    .description('stop sending alerts to a channel (its notifications stay on record)')
    .argument('<name>', 'the channel')
    .action(async (name) => {
      await withDatabase(async (db) => {
        await explained(() => removeAlertChannel(db.pool, name));
        console.log(`alert channel ${name} stopped`);
      });
    });
}
