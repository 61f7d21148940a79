// Sending one alert notification over its channel: the activity behind workflows/alerts/deliver-alert.ts.
// One message per transition, the same words on every channel (alertText): what happened, to which
// source, since when, and where to look. Failures are thrown as ReceiverFailed (retried by the delivery
// workflow's policy, lib/webhook-policy.ts) with the receiver's answer or the SMTP server's reply.
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import nodemailer from 'nodemailer';
import { FailureType } from '../../lib/failures';
import { redactUrlsInText } from '../../lib/redact';
import { decryptSecret } from '../../lib/secrets';
import { WEBHOOK_RETRY, WEBHOOK_TIMEOUT_MS } from '../../lib/webhook-policy';
import { delivered, failureOf, postJson, receiverName } from '../delivery/http-post';
import type { ActivityDeps } from '../deps';
import { SIGNATURE_HEADER, signWebhook } from '../feed/signature';

/** Who alert e-mails are from (TEDI_ALERT_FROM overrides; see lib/config.ts). */
export const DEFAULT_ALERT_FROM = 'TEDI Ingest <tedi@localhost>';

interface Notification {
  id: string;
  transition: 'opened' | 'resolved';
  status: 'pending' | 'delivered' | 'failed';
  channel_active: boolean;
  channel_kind: 'webhook' | 'slack' | 'email';
  channel_name: string;
  target: string;
  secret_encrypted: string;
  incident_id: string;
  kind: string;
  source_name: string;
  subject: string;
  summary: string;
  details: Record<string, unknown> | null;
  opened_at: Date;
  resolved_at: Date | null;
  version: string;
}

/** The alert as one line and a body, the same on every channel. */
export function alertText(n: Pick<Notification, 'transition' | 'kind' | 'summary' | 'opened_at' | 'resolved_at'>) {
  const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');
  const head = n.transition === 'opened' ? `[TEDI] ${n.kind}` : `[TEDI] resolved: ${n.kind}`;
  const line =
    n.transition === 'opened'
      ? `${head}: ${n.summary}`
      : `${head}: ${n.summary} (open from ${when(n.opened_at)} to ${when(n.resolved_at)})`;
  const body = [
    line,
    '',
    `opened:   ${when(n.opened_at)}`,
    `resolved: ${when(n.resolved_at)}`,
    '',
    'See `npm run tedi -- alerts` and the status page (/status) for the source.',
  ].join('\n');
  return { subject: line.length > 200 ? `${line.slice(0, 197)}...` : line, body };
}

export function sendActivities(deps: ActivityDeps, options: { from?: string } = {}) {
  const { pool } = deps.db;

  async function record(id: string, outcome: { delivered: boolean; error: string | null; last: boolean }) {
    await pool.query(
      `UPDATE alert_notifications
          SET attempts = GREATEST(attempts, $2), last_error = $3,
              status = CASE WHEN $4 THEN 'delivered' WHEN $5 THEN 'failed' ELSE status END::"DeliveryStatus",
              delivered_at = CASE WHEN $4 THEN now() ELSE delivered_at END
        WHERE id = $1`,
      [id, activityInfo().attempt, outcome.error, outcome.delivered, outcome.last],
    );
  }

  return {
    /** Sends one notification once; throws ReceiverFailed (retried) unless it was accepted. */
    async sendAlert(input: { notificationId: string }): Promise<{ status: 'delivered'; attempts: number }> {
      const found = await pool.query<Notification>(
        `SELECT n.id::text, n.transition, n.status, c.active AS channel_active, c.kind AS channel_kind,
                c.name AS channel_name, c.target, c.secret_encrypted, i.id::text AS incident_id, i.kind,
                i.source_name, i.subject, i.summary, i.details, i.opened_at, i.resolved_at, v.version
           FROM alert_notifications n
           JOIN alert_channels c ON c.id = n.channel_id
           JOIN incidents i ON i.id = n.incident_id
           JOIN dataset_versions v ON v.id = i.dataset_version_id
          WHERE n.id = $1`,
        [input.notificationId],
      );
      const n = found.rows[0];
      if (!n)
        throw ApplicationFailure.nonRetryable(
          `notification ${input.notificationId} does not exist`,
          FailureType.ReceiverGone,
        );
      const attempt = activityInfo().attempt;
      if (n.status === 'delivered') return { status: 'delivered', attempts: attempt };
      if (!n.channel_active) {
        await record(n.id, { delivered: false, error: 'the channel was removed before it was sent', last: true });
        throw ApplicationFailure.nonRetryable(`alert channel ${n.channel_name} was removed`, FailureType.ReceiverGone);
      }
      const secret = decryptSecret(n.secret_encrypted, deps.secretKey);
      const text = alertText(n);
      let error: string | null = null;
      if (n.channel_kind === 'email') {
        // Every SMTP phase bounded by the receivers' limit, so an attempt never outlives its activity (a
        // tarpitting server would otherwise get the mail twice: from the timed-out attempt and the next).
        const transport = nodemailer.createTransport({
          url: secret,
          connectionTimeout: WEBHOOK_TIMEOUT_MS,
          greetingTimeout: WEBHOOK_TIMEOUT_MS,
          socketTimeout: WEBHOOK_TIMEOUT_MS,
        } as Parameters<typeof nodemailer.createTransport>[0]);
        try {
          await transport.sendMail({
            from: options.from ?? DEFAULT_ALERT_FROM,
            to: n.target,
            subject: text.subject,
            text: text.body,
            headers: { 'X-Tedi-Incident': n.incident_id, 'X-Tedi-Alert': `${n.kind}.${n.transition}` },
          });
        } catch (err) {
          // The SMTP server's own reply (e.g. "535 Authentication failed"), URLs' passwords masked.
          error = `SMTP: ${redactUrlsInText((err as Error).message).replaceAll(secret, '***')}`;
        } finally {
          transport.close();
        }
      } else {
        const body =
          n.channel_kind === 'slack'
            ? JSON.stringify({ text: text.subject })
            : JSON.stringify({
                type: `alert.${n.transition}`,
                incident: {
                  id: n.incident_id,
                  kind: n.kind,
                  source: n.source_name,
                  version: n.version,
                  subject: n.subject,
                  summary: n.summary,
                  details: n.details,
                  openedAt: n.opened_at.toISOString(),
                  resolvedAt: n.resolved_at?.toISOString() ?? null,
                },
                text: text.subject,
              });
        const url = n.channel_kind === 'slack' ? secret : n.target;
        const headers: Record<string, string> =
          n.channel_kind === 'slack'
            ? {}
            : { [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(Date.now() / 1000)), 'tedi-alert-id': n.id };
        const outcome = await postJson(url, body, headers);
        // A Slack URL is a credential: name it by host only.
        const who = n.channel_kind === 'slack' ? new URL(url).host : receiverName(url);
        if (!delivered(outcome)) error = `${who} ${failureOf(outcome)}`;
      }
      const last = attempt >= WEBHOOK_RETRY.maximumAttempts;
      await record(n.id, { delivered: error === null, error, last: error !== null && last });
      if (error === null) return { status: 'delivered', attempts: attempt };
      throw ApplicationFailure.retryable(
        `alert ${n.channel_name}: ${error} (attempt ${attempt} of ${WEBHOOK_RETRY.maximumAttempts})`,
        FailureType.ReceiverFailed,
      );
    },

    async finishFailedAlert(input: { notificationId: string; reason: string }): Promise<void> {
      await pool.query(
        `UPDATE alert_notifications SET status = 'failed', last_error = coalesce(last_error, $2)
          WHERE id = $1 AND status = 'pending'`,
        [input.notificationId, input.reason],
      );
    },
  };
}
