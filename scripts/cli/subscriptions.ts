// The change feed's webhook subscriptions from the command line:
//   tedi subscribe <url> [--source s]... [--name n]   prints the signing secret once
//   tedi subscriptions                               lists them with their delivery counts
//   tedi unsubscribe <id|name>                        stops one (its delivery log stays)
//   tedi deliveries [--subscription x] [--status s]   the newest deliveries with every attempt
//   tedi redeliver <delivery id>                      queues a failed delivery again
// The same functions serve the API's /v1/subscriptions (activities/feed/subscriptions.ts). Deliveries are
// made by the workers' feed dispatcher, so these commands need only the database.
import type { Command } from 'commander';
import { z } from 'zod';
import {
  createSubscription,
  type Delivery,
  listDeliveries,
  listSubscriptions,
  redeliver,
  removeSubscription,
  type Subscription,
  SubscriptionError,
} from '../../activities/feed/subscriptions';
import { resolveSecretKey } from '../../lib/secrets';
import { jsonFlag } from './args';
import { withDatabase } from './context';
import { UsageError, validateArgs } from './errors';
import { JSON_HELP, notice, printJson, printTable, renderFields } from './output';

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

/** A bad subscription argument is a usage error naming the option it came from. */
async function explained<T>(work: () => Promise<T>, options: Record<string, string>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof SubscriptionError) {
      const option = options[err.field] ?? err.field;
      throw new UsageError(err.message.replace(`${err.field}:`, `${option}:`));
    }
    throw err;
  }
}

function describeSubscription(s: Subscription): string {
  return renderFields([
    ['id', String(s.id)],
    ['url', s.url],
    ['sources', s.sources.length ? s.sources.join(', ') : 'all'],
    ['active', s.active ? 'yes' : `no (${s.disabledReason ?? 'stopped'})`],
    [
      'deliveries',
      `${s.deliveries.delivered} delivered, ${s.deliveries.pending} pending, ${s.deliveries.failed} failed`,
    ],
  ]);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerSubscriptions(program: Command): void {
  program
    .command('subscribe')
    .description('send every new revision of some (or all) sources to a webhook, signed')
    .argument('<url>', 'where events are POSTed, e.g. https://example.org/tedi-hook')
    .option('--source <name>', 'follow this source (repeat for several; default: every source)', collect)
    .option('--name <name>', 'a name for the subscription (default: the URL’s host)')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      [
        '',
        'Prints the signing secret once: the receiver verifies the Tedi-Signature header with it',
        '(HMAC-SHA256 of "<t>.<body>"; see README "The change feed"). Events committed from now on are sent.',
      ].join('\n'),
    )
    .action(async (url, opts) => {
      const args = validateArgs(
        z.object({
          url: z.string(),
          source: z.array(z.string()).default([]),
          name: z.string().optional(),
          json: jsonFlag,
        }),
        { ...opts, url },
        ['url'],
      );
      await withDatabase(async (db, config) => {
        const secretKey = resolveSecretKey(config.TEDI_SECRET_KEY, config.TEDI_DATA_DIR);
        const { subscription, secret } = await explained(
          () => createSubscription(db.pool, secretKey, { url: args.url, name: args.name, sources: args.source }),
          { url: '<url>', sources: '--source', name: '--name' },
        );
        if (args.json) return printJson({ subscription, secret });
        console.log(`subscription ${subscription.name} created\n${describeSubscription(subscription)}`);
        console.log(`  secret:     ${secret}`);
        notice('Keep the secret: it is shown only now, and it is what proves an event came from TEDI.');
      });
    });

  program
    .command('subscriptions')
    .description('webhook subscriptions, with how many deliveries each has had')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      await withDatabase(async (db) => {
        const rows = await listSubscriptions(db.pool);
        if (opts.json) return printJson(rows);
        printTable(rows, [
          { header: 'ID', value: (s) => String(s.id), align: 'right' },
          { header: 'NAME', value: (s) => s.name },
          { header: 'URL', value: (s) => s.url },
          { header: 'SOURCES', value: (s) => (s.sources.length ? s.sources.join(',') : 'all') },
          { header: 'ACTIVE', value: (s) => (s.active ? 'yes' : 'no') },
          { header: 'DELIVERED', value: (s) => String(s.deliveries.delivered), align: 'right' },
          { header: 'PENDING', value: (s) => String(s.deliveries.pending), align: 'right' },
          { header: 'FAILED', value: (s) => String(s.deliveries.failed), align: 'right' },
          { header: 'LAST DELIVERED', value: (s) => when(s.lastDeliveredAt) },
        ]);
      });
    });

  program
    .command('unsubscribe')
    .description('stop a webhook subscription (its delivery log is kept)')
    .argument('<subscription>', 'id or name')
    .option('--json', JSON_HELP)
    .action(async (subscription, opts) => {
      await withDatabase(async (db) => {
        const stopped = await explained(
          () =>
            removeSubscription(db.pool, subscription, `removed with tedi unsubscribe at ${new Date().toISOString()}`),
          { subscription: '<subscription>' },
        );
        if (opts.json) return printJson(stopped);
        console.log(`subscription ${stopped.name} stopped\n${describeSubscription(stopped)}`);
      });
    });

  program
    .command('deliveries')
    .description('the newest webhook deliveries, with every attempt')
    .option('--subscription <id|name>', 'only this subscription’s')
    .option('--status <status>', 'pending, delivered or failed')
    .option('--limit <n>', 'how many (default 20)', '20')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(
        z.object({
          subscription: z.string().optional(),
          status: z
            .enum(['pending', 'delivered', 'failed'], { error: 'must be pending, delivered or failed' })
            .optional(),
          limit: z.coerce.number().int().min(1).max(500),
          json: jsonFlag,
        }),
        opts,
      );
      await withDatabase(async (db) => {
        const rows = await explained(() => listDeliveries(db.pool, args), { subscription: '--subscription' });
        if (args.json) return printJson(rows);
        printTable(rows, [
          { header: 'ID', value: (d: Delivery) => d.id, align: 'right' },
          { header: 'SUBSCRIPTION', value: (d) => d.subscription },
          { header: 'EVENT', value: (d) => `${d.source} r${d.revision}` },
          { header: 'STATUS', value: (d) => d.status },
          { header: 'ATTEMPTS', value: (d) => String(d.attempts), align: 'right' },
          { header: 'LAST ATTEMPT', value: (d) => when(d.lastAttemptAt) },
          { header: 'LAST ANSWER', value: (d) => d.lastError ?? (d.lastHttpStatus ? String(d.lastHttpStatus) : '-') },
        ]);
      });
    });

  program
    .command('redeliver')
    .description('send a failed webhook delivery again (a new delivery workflow, full retry policy)')
    .argument('<delivery>', 'delivery id (see tedi deliveries --status failed)')
    .action(async (delivery) => {
      if (!/^\d+$/.test(delivery)) throw new UsageError('<delivery>: must be a delivery id, e.g. 17');
      await withDatabase(async (db) => {
        await explained(() => redeliver(db.pool, delivery), { delivery: '<delivery>' });
        console.log(`delivery ${delivery} queued again: the feed dispatcher starts it within a minute`);
      });
    });
}
