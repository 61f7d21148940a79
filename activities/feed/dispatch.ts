// The feed dispatcher's activities: turn committed events into deliveries (one per matching active
// subscription) and hand back the deliveries whose workflow has yet to start. When there are none, the
// claim waits on the outbox's NOTIFY channel, so a new revision reaches its subscribers in about a second
// rather than at the next poll; the wait is bounded so the dispatcher's loop stays responsive.
import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import type { PoolClient } from 'pg';
import type { ActivityDeps } from '../deps';
import { CHANGE_CHANNEL } from './outbox';

/** Makes the deliveries of every event a subscription has not been dispatched yet. Returns how many. */
async function createDeliveries(client: PoolClient): Promise<number> {
  // Events commit in id order (outbox.ts), so every event up to the newest visible one is committed:
  // advancing each subscription's mark to it skips none.
  // One snapshot for the whole step: a subscription created while it runs is either seen by both the INSERT
  // and the UPDATE or by neither (under READ COMMITTED the UPDATE alone could see it, advance its mark past
  // an event the INSERT did not deliver to it, and that event would be lost for it).
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    const newest = await client.query<{ id: string }>('SELECT COALESCE(max(id), 0)::text AS id FROM change_events');
    const through = newest.rows[0]?.id ?? '0';
    const made = await client.query(
      `INSERT INTO webhook_deliveries (subscription_id, event_id)
       SELECT s.id, e.id
         FROM webhook_subscriptions s
         JOIN change_events e ON e.id > s.dispatched_through AND e.id <= $1::bigint
                             AND (cardinality(s.sources) = 0 OR e.source_name = ANY(s.sources))
        WHERE s.active AND s.dispatched_through < $1::bigint
       ON CONFLICT (subscription_id, event_id) DO NOTHING`,
      [through],
    );
    await client.query(
      'UPDATE webhook_subscriptions SET dispatched_through = $1::bigint WHERE active AND dispatched_through < $1::bigint',
      [through],
    );
    await client.query('COMMIT');
    return made.rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A delivery the dispatcher is to start: its id, and what names its workflow. */
export interface DeliveryToStart {
  deliveryId: string;
  subscription: string;
  source: string;
  revision: number;
  /** Times it was queued again by an operator: a new generation, a new workflow. */
  redeliveries: number;
}

async function unstartedDeliveries(client: PoolClient, limit: number): Promise<DeliveryToStart[]> {
  const rows = await client.query<DeliveryToStart>(
    `SELECT d.id::text AS "deliveryId", s.name AS subscription, e.source_name AS source, e.revision, d.redeliveries
       FROM webhook_deliveries d
       JOIN webhook_subscriptions s ON s.id = d.subscription_id
       JOIN change_events e ON e.id = d.event_id
      WHERE d.status = 'pending' AND d.started_at IS NULL
      ORDER BY d.id LIMIT $1`,
    [limit],
  );
  return rows.rows;
}

/**
 * What a listening connection has heard, from the moment it is attached (right after LISTEN): so a
 * notification that arrives while the claim is still reading is not missed, and a connection the server
 * drops (a restart, pg_terminate_backend) fails the claim instead of crashing the worker (a checked-out
 * client has no pool error listener, and an unhandled 'error' event would end the process).
 */
function listening(client: PoolClient) {
  let heard = false;
  let broken: Error | null = null;
  let wake: () => void = () => undefined;
  client.on('notification', () => {
    heard = true;
    wake();
  });
  client.on('error', (err) => {
    broken = err;
    wake();
  });
  return {
    /** Resolves at a notification (heard since attachment counts), after `ms`, or on cancellation. */
    until(ms: number): Promise<void> {
      if (heard) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          clearInterval(beat);
          wake = () => undefined;
          if (broken) reject(broken);
          else resolve();
        };
        wake = done;
        const timer = setTimeout(done, ms);
        const beat = setInterval(() => heartbeat(), 5_000);
        Context.current().cancelled.catch(done);
      });
    },
  };
}

export function dispatchActivities(deps: ActivityDeps) {
  return {
    /**
     * The deliveries to start now (at most `limit`): made from new events, or left unstarted by an earlier
     * dispatcher run that stopped between claiming and starting them. Waits up to `waitMs` for an event
     * when there is nothing to do.
     */
    async claimDeliveries(input: { waitMs: number; limit: number }): Promise<DeliveryToStart[]> {
      const client = await deps.db.pool.connect();
      try {
        // Listening before looking: an event committed between the look and the wait still wakes us.
        const heard = listening(client);
        await client.query(`LISTEN ${CHANGE_CHANNEL}`);
        await createDeliveries(client);
        let ids = await unstartedDeliveries(client, input.limit);
        if (ids.length === 0 && input.waitMs > 0) {
          await heard.until(Math.min(input.waitMs, activityInfo().startToCloseTimeoutMs - 5_000));
          await createDeliveries(client);
          ids = await unstartedDeliveries(client, input.limit);
        }
        return ids;
      } catch (err) {
        // Shutting down (the worker cancels its activities; the database may already be stopping): nothing
        // was claimed that the next run would not claim again, so end quietly instead of failing the attempt.
        if (Context.current().cancellationSignal.aborted) return [];
        throw err;
      } finally {
        // A client that listened is not returned to the pool (it would keep receiving notifications).
        client.release(true);
      }
    },

    /** Marks deliveries whose workflow the dispatcher has started, so the next claim leaves them out. */
    async markDeliveriesStarted(input: { deliveryIds: string[] }): Promise<void> {
      await deps.db.pool.query(
        'UPDATE webhook_deliveries SET started_at = now() WHERE id = ANY($1::bigint[]) AND started_at IS NULL',
        [input.deliveryIds],
      );
    },
  };
}
