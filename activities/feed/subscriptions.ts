// Webhook subscriptions: created, listed and removed by the CLI (`tedi subscribe` …) and the read API
// (/v1/subscriptions), both through these functions. A subscription's signing secret is generated here,
// returned once to whoever created it, and stored only encrypted (lib/secrets.ts).
import type { Pool } from 'pg';
import { z } from 'zod';
import { encryptSecret } from '../../lib/secrets';
import { latestEventId } from './outbox';
import { newWebhookSecret } from './signature';

/** A bad subscription request: names the field and what to give instead (CLI message, API 400). */
export class SubscriptionError extends Error {
  override name = 'SubscriptionError';
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(`${field}: ${message}`);
  }
}

export const SubscriptionInput = z.object({
  url: z
    .string()
    .url('must be an absolute http(s) URL, e.g. https://example.org/tedi-hook')
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "." or "-", e.g. dashboard')
    .optional(),
  sources: z.array(z.string().min(1)).default([]),
});
export type SubscriptionInput = z.input<typeof SubscriptionInput>;

export interface Subscription {
  id: number;
  name: string;
  url: string;
  sources: string[];
  active: boolean;
  disabledReason: string | null;
  createdAt: Date;
  deliveries: { delivered: number; pending: number; failed: number };
  lastDeliveredAt: Date | null;
}

interface SubscriptionRow {
  id: number;
  name: string;
  url: string;
  sources: string[];
  active: boolean;
  disabled_reason: string | null;
  created_at: Date;
  delivered: number;
  pending: number;
  failed: number;
  last_delivered_at: Date | null;
}

const subscriptionOf = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  name: r.name,
  url: r.url,
  sources: r.sources,
  active: r.active,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
  deliveries: { delivered: r.delivered, pending: r.pending, failed: r.failed },
  lastDeliveredAt: r.last_delivered_at,
});

const SELECT_SUBSCRIPTIONS = `
  SELECT s.id, s.name, s.url, s.sources, s.active, s.disabled_reason, s.created_at,
         count(d.id) FILTER (WHERE d.status = 'delivered')::int AS delivered,
         count(d.id) FILTER (WHERE d.status = 'pending')::int AS pending,
         count(d.id) FILTER (WHERE d.status = 'failed')::int AS failed,
         max(d.delivered_at) AS last_delivered_at
    FROM webhook_subscriptions s
    LEFT JOIN webhook_deliveries d ON d.subscription_id = s.id`;

/** Parses a subscription request; a bad field is a SubscriptionError naming it. */
export function parseSubscriptionInput(input: unknown): z.output<typeof SubscriptionInput> {
  const parsed = SubscriptionInput.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new SubscriptionError(issue?.path.join('.') || 'body', issue?.message ?? 'is not valid');
}

/**
 * Creates a subscription that receives events committed from now on, and returns it with its signing
 * secret (the only time the secret is shown). Unknown source names are refused, naming them.
 */
export async function createSubscription(
  pool: Pool,
  secretKey: string,
  input: SubscriptionInput,
): Promise<{ subscription: Subscription; secret: string }> {
  const { url, name, sources } = parseSubscriptionInput(input);
  if (sources.length) {
    const known = await pool.query<{ name: string }>('SELECT name FROM data_sources WHERE name = ANY($1)', [sources]);
    const unknown = sources.filter((s) => !known.rows.some((k) => k.name === s));
    if (unknown.length) {
      throw new SubscriptionError(
        'sources',
        `unknown source ${unknown.join(', ')}: give catalog names (see /v1/sources or \`npm run tedi -- sources\`)`,
      );
    }
  }
  const secret = newWebhookSecret();
  const chosenName = name ?? new URL(url).host;
  try {
    const row = await pool.query<{ id: number }>(
      `INSERT INTO webhook_subscriptions (name, url, secret_encrypted, sources, dispatched_through)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [chosenName, url, encryptSecret(secret, secretKey), [...new Set(sources)], await latestEventId(pool)],
    );
    return { subscription: await getSubscription(pool, row.rows[0]?.id ?? 0), secret };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new SubscriptionError('name', `a subscription named "${chosenName}" exists: choose another name`);
    }
    throw err;
  }
}

export async function listSubscriptions(pool: Pool): Promise<Subscription[]> {
  const rows = await pool.query<SubscriptionRow>(`${SELECT_SUBSCRIPTIONS} GROUP BY s.id ORDER BY s.id`);
  return rows.rows.map(subscriptionOf);
}

/** A subscription by id or name; an unknown one is a 404 SubscriptionError. */
export async function getSubscription(pool: Pool, idOrName: number | string): Promise<Subscription> {
  const byId = typeof idOrName === 'number' || /^\d+$/.test(idOrName);
  const rows = await pool.query<SubscriptionRow>(
    `${SELECT_SUBSCRIPTIONS} WHERE ${byId ? 's.id = $1::int' : 's.name = $1'} GROUP BY s.id`,
    [String(idOrName)],
  );
  const row = rows.rows[0];
  if (!row) throw new SubscriptionError('subscription', `no subscription ${idOrName}: see \`tedi subscriptions\``, 404);
  return subscriptionOf(row);
}

/**
 * Stops a subscription: no new deliveries, and pending ones end as failed at their next attempt. Its
 * delivery log is kept (the row stays, inactive, with the reason).
 */
export async function removeSubscription(pool: Pool, idOrName: number | string, reason: string): Promise<Subscription> {
  const current = await getSubscription(pool, idOrName);
  await pool.query('UPDATE webhook_subscriptions SET active = false, disabled_reason = $2 WHERE id = $1', [
    current.id,
    reason,
  ]);
  return getSubscription(pool, current.id);
}

export interface Delivery {
  id: string;
  subscription: string;
  eventId: string;
  source: string;
  revision: number;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  log: {
    attempt: number;
    startedAt: Date;
    durationMs: number;
    httpStatus: number | null;
    outcome: string;
    error: string | null;
  }[];
}

/** The newest deliveries (with their attempt log), optionally of one subscription or in one status. */
export async function listDeliveries(
  pool: Pool,
  filter: { subscription?: number | string; status?: Delivery['status']; limit?: number } = {},
): Promise<Delivery[]> {
  const subscriptionId =
    filter.subscription === undefined ? null : (await getSubscription(pool, filter.subscription)).id;
  const rows = await pool.query(
    `SELECT d.id::text, s.name AS subscription, d.event_id::text, e.source_name, e.revision, d.status, d.attempts,
            d.last_attempt_at, d.delivered_at, d.last_http_status, d.last_error,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'startedAt', a.started_at,
                              'durationMs', a.duration_ms, 'httpStatus', a.http_status, 'outcome', a.outcome,
                              'error', a.error) ORDER BY a.id)
                        FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS log
       FROM webhook_deliveries d
       JOIN webhook_subscriptions s ON s.id = d.subscription_id
       JOIN change_events e ON e.id = d.event_id
      WHERE ($1::int IS NULL OR d.subscription_id = $1) AND ($2::"DeliveryStatus" IS NULL OR d.status = $2)
      ORDER BY d.id DESC LIMIT $3`,
    [subscriptionId, filter.status ?? null, filter.limit ?? 50],
  );
  return rows.rows.map((r) => ({
    id: r.id,
    subscription: r.subscription,
    eventId: r.event_id,
    source: r.source_name,
    revision: r.revision,
    status: r.status,
    attempts: r.attempts,
    lastAttemptAt: r.last_attempt_at,
    deliveredAt: r.delivered_at,
    lastHttpStatus: r.last_http_status,
    lastError: r.last_error,
    log: (r.log as Delivery['log']).map((a) => ({ ...a, startedAt: new Date(a.startedAt) })),
  }));
}

/** Puts a failed delivery back in the queue: the dispatcher starts a new delivery workflow for it. */
export async function redeliver(pool: Pool, deliveryId: string): Promise<void> {
  const updated = await pool.query(
    `UPDATE webhook_deliveries d SET status = 'pending', started_at = NULL, attempts = 0, last_error = NULL,
                                  redeliveries = d.redeliveries + 1
       FROM webhook_subscriptions s
      WHERE d.id = $1::bigint AND s.id = d.subscription_id AND s.active AND d.status = 'failed'
      RETURNING d.id`,
    [deliveryId],
  );
  if (!updated.rowCount) {
    throw new SubscriptionError(
      'delivery',
      `no failed delivery ${deliveryId} of an active subscription: see \`tedi deliveries --status failed\``,
      404,
    );
  }
}
