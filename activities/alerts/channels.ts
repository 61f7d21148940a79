// Alert channels: where incidents are told. Created, listed and removed by the CLI (`tedi alerts …`).
// Each kind keeps its credential encrypted (lib/secrets.ts), never shown again after it is given:
//   webhook – TEDI's own JSON, signed like the change feed (Tedi-Signature) with a secret generated here;
//   slack   – Slack's incoming-webhook body ({"text": …}); the webhook URL is the credential;
//   email   – a message over SMTP; the SMTP URL (smtp[s]://user:password@host:port) is the credential,
//             the recipients are the target.
import type { Pool } from 'pg';
import { z } from 'zod';
import { encryptSecret } from '../../lib/secrets';
import { newWebhookSecret } from '../feed/signature';
import { ALERT_KINDS } from './conditions';

export class AlertChannelError extends Error {
  override name = 'AlertChannelError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const httpUrl = (example: string) =>
  z
    .string()
    .url(`must be an absolute http(s) URL, e.g. ${example}`)
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

const email = z.string().email('must be an e-mail address, e.g. ops@example.org');

export const ChannelInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('webhook'), url: httpUrl('https://ops.example.org/tedi-alerts') }),
  z.object({ kind: z.literal('slack'), url: httpUrl('https://hooks.slack.com/services/T000/B000/XXXX') }),
  z.object({
    kind: z.literal('email'),
    to: z.array(email).min(1, 'needs at least one recipient, e.g. ops@example.org'),
    smtpUrl: z
      .string()
      .regex(/^smtps?:\/\/[^\s/?]+\/?(\?\S*)?$/, 'must be smtp://[user:password@]host[:port] or smtps://…'),
  }),
]);

export const ChannelCommon = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "." or "-"'),
  kinds: z.array(z.enum(ALERT_KINDS, { error: `must be one of ${ALERT_KINDS.join(', ')}` })).default([]),
  sources: z.array(z.string().min(1)).default([]),
});

export interface AlertChannel {
  id: number;
  name: string;
  kind: 'webhook' | 'slack' | 'email';
  target: string;
  kinds: string[];
  sources: string[];
  active: boolean;
  createdAt: Date;
  notifications: { delivered: number; pending: number; failed: number };
  /** The receiver's answer to the latest notification that has not got through since the last one that did. */
  lastError: string | null;
}

function firstIssue(error: z.ZodError): AlertChannelError {
  const issue = error.issues[0];
  return new AlertChannelError(issue?.path.join('.') || 'channel', issue?.message ?? 'is not valid');
}

/**
 * Creates a channel. Returns it, and for a webhook channel the signing secret it generated (shown once).
 * Unknown source names are refused, naming them.
 */
export async function createAlertChannel(
  pool: Pool,
  secretKey: string,
  input: { name: string; kinds?: string[]; sources?: string[] } & z.input<typeof ChannelInput>,
): Promise<{ channel: AlertChannel; signingSecret: string | null }> {
  const common = ChannelCommon.safeParse(input);
  if (!common.success) throw firstIssue(common.error);
  const parsed = ChannelInput.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error);
  const { name, kinds, sources } = common.data;
  if (sources.length) {
    const known = await pool.query<{ name: string }>('SELECT name FROM data_sources WHERE name = ANY($1)', [sources]);
    const unknown = sources.filter((s) => !known.rows.some((k) => k.name === s));
    if (unknown.length) throw new AlertChannelError('sources', `unknown source ${unknown.join(', ')}`);
  }
  const c = parsed.data;
  const signingSecret = c.kind === 'webhook' ? newWebhookSecret() : null;
  const [target, secret] =
    c.kind === 'webhook'
      ? [c.url, signingSecret as string]
      : c.kind === 'slack'
        ? [new URL(c.url).host, c.url]
        : [c.to.join(','), c.smtpUrl];
  try {
    await pool.query(
      `INSERT INTO alert_channels (name, kind, target, secret_encrypted, kinds, sources)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [name, c.kind, target, encryptSecret(secret, secretKey), [...new Set(kinds)], [...new Set(sources)]],
    );
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new AlertChannelError('name', `an alert channel named "${name}" exists: choose another name`);
    }
    throw err;
  }
  const channel = (await listAlertChannels(pool)).find((ch) => ch.name === name);
  if (!channel) throw new Error(`alert channel ${name} vanished after its creation`);
  return { channel, signingSecret };
}

export async function listAlertChannels(pool: Pool): Promise<AlertChannel[]> {
  const rows = await pool.query(
    `SELECT c.id, c.name, c.kind, c.target, c.kinds, c.sources, c.active, c.created_at,
            count(n.id) FILTER (WHERE n.status = 'delivered')::int AS delivered,
            count(n.id) FILTER (WHERE n.status = 'pending')::int AS pending,
            count(n.id) FILTER (WHERE n.status = 'failed')::int AS failed,
            (SELECT last_error FROM alert_notifications f
              WHERE f.channel_id = c.id AND f.status <> 'delivered' AND f.last_error IS NOT NULL
                AND f.id > coalesce((SELECT max(d.id) FROM alert_notifications d
                                      WHERE d.channel_id = c.id AND d.status = 'delivered'), 0)
              ORDER BY f.id DESC LIMIT 1) AS last_error
       FROM alert_channels c LEFT JOIN alert_notifications n ON n.channel_id = c.id
      GROUP BY c.id ORDER BY c.id`,
  );
  return rows.rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    target: r.target,
    kinds: r.kinds,
    sources: r.sources,
    active: r.active,
    createdAt: r.created_at,
    notifications: { delivered: r.delivered, pending: r.pending, failed: r.failed },
    lastError: r.last_error,
  }));
}

/** Stops a channel (no new notifications; pending ones are not sent); its notifications stay on record. */
export async function removeAlertChannel(pool: Pool, name: string): Promise<void> {
  const updated = await pool.query('UPDATE alert_channels SET active = false WHERE name = $1', [name]);
  if (!updated.rowCount)
    throw new AlertChannelError('channel', `no alert channel named "${name}": see \`tedi alerts channels\``);
}

export interface Incident {
  id: string;
  kind: string;
  source: string;
  subject: string;
  summary: string;
  openedAt: Date;
  resolvedAt: Date | null;
}

/** Open incidents, then the most recently resolved ones. */
export async function listIncidents(pool: Pool, options: { open?: boolean; limit?: number } = {}): Promise<Incident[]> {
  const rows = await pool.query(
    `SELECT id::text, kind, source_name, subject, summary, opened_at, resolved_at FROM incidents
      WHERE NOT $1 OR resolved_at IS NULL
      ORDER BY resolved_at IS NOT NULL, coalesce(resolved_at, opened_at) DESC LIMIT $2`,
    [options.open ?? false, options.limit ?? 50],
  );
  return rows.rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    source: r.source_name,
    subject: r.subject,
    summary: r.summary,
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
  }));
}
