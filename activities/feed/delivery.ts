// One POST of one webhook delivery. Every attempt, whatever its outcome, writes a row of the delivery log
// (webhook_attempts) and brings the delivery's state up to date; Temporal's retry policy (lib/webhook-policy.ts)
// decides when the next attempt comes. The event's body is the same on every attempt (the stored event),
// signed afresh with the attempt's timestamp.
//
// Outcomes: 2xx = delivered. 410 Gone = the receiver wants no more: the subscription is disabled and the
// delivery fails for good. Anything else (another status, no answer within WEBHOOK_TIMEOUT_MS, a refused or
// closed connection) is retried; the last allowed attempt is logged as "gave_up" and the delivery as failed.
//
// Messages name the receiver by origin and path only: a URL's query string may carry the receiver's token.
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { decryptSecret } from '../../lib/secrets';
import { WEBHOOK_RETRY } from '../../lib/webhook-policy';
import { delivered, failureOf, postJson, receiverName } from '../delivery/http-post';
import type { ActivityDeps } from '../deps';
import { changeEventOf, EVENT_COLUMNS, type RevisionCreated } from './outbox';
import { SIGNATURE_HEADER, signWebhook } from './signature';

export interface DeliveryResult {
  deliveryId: string;
  status: 'delivered' | 'failed';
  attempts: number;
  httpStatus: number | null;
}

interface Target {
  subscription_id: number;
  url: string;
  secret_encrypted: string;
  active: boolean;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  id: string;
  type: 'revision.created';
  created_at: Date;
  payload: RevisionCreated;
}

export function deliveryActivities(deps: ActivityDeps) {
  const { pool } = deps.db;

  async function logAttempt(
    deliveryId: string,
    attempt: number,
    a: { ms: number; status: number | null; outcome: 'delivered' | 'retry' | 'gave_up'; error: string | null },
  ): Promise<void> {
    const startedAt = new Date(Date.now() - a.ms);
    await pool.query(
      `WITH logged AS (
         INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, http_status, outcome, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7))
       UPDATE webhook_deliveries
          SET attempts = GREATEST(attempts, $2), last_attempt_at = now(), last_http_status = $5, last_error = $7,
              status = CASE $6 WHEN 'delivered' THEN 'delivered' WHEN 'gave_up' THEN 'failed' ELSE status END::"DeliveryStatus",
              delivered_at = CASE WHEN $6 = 'delivered' THEN now() ELSE delivered_at END
        WHERE id = $1`,
      [deliveryId, attempt, startedAt, a.ms, a.status, a.outcome, a.error],
    );
  }

  return {
    /** POSTs the delivery's event once; throws (ReceiverFailed, retried; ReceiverGone, not) unless delivered. */
    async postWebhook(input: { deliveryId: string }): Promise<DeliveryResult> {
      const { deliveryId } = input;
      const found = await pool.query<Target>(
        `SELECT s.id AS subscription_id, s.url, s.secret_encrypted, s.active, d.status, d.attempts,
                ${EVENT_COLUMNS.split(', ')
                  .map((c) => `e.${c}`)
                  .join(', ')}
           FROM webhook_deliveries d
           JOIN webhook_subscriptions s ON s.id = d.subscription_id
           JOIN change_events e ON e.id = d.event_id
          WHERE d.id = $1`,
        [deliveryId],
      );
      const target = found.rows[0];
      if (!target)
        throw ApplicationFailure.nonRetryable(`delivery ${deliveryId} does not exist`, FailureType.ReceiverGone);
      // Already delivered (a retried workflow task, or a redelivery raced the first): nothing to send again.
      if (target.status === 'delivered') {
        return { deliveryId, status: 'delivered', attempts: target.attempts, httpStatus: null };
      }
      const attempt = activityInfo().attempt;
      const receiver = receiverName(target.url);
      if (!target.active) {
        const error = 'the subscription was removed before this delivery succeeded';
        await logAttempt(deliveryId, attempt, { ms: 0, status: null, outcome: 'gave_up', error });
        throw ApplicationFailure.nonRetryable(`${receiver}: ${error}`, FailureType.ReceiverGone);
      }

      const event = changeEventOf(target);
      const body = JSON.stringify(event);
      const secret = decryptSecret(target.secret_encrypted, deps.secretKey);
      const result = await postJson(target.url, body, {
        'tedi-event-id': event.id,
        'tedi-event-type': event.type,
        'tedi-delivery-id': deliveryId,
        'tedi-delivery-attempt': String(attempt),
        [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(Date.now() / 1000)),
      });

      if (delivered(result)) {
        await logAttempt(deliveryId, attempt, {
          ms: result.ms,
          status: result.status,
          outcome: 'delivered',
          error: null,
        });
        return { deliveryId, status: 'delivered', attempts: attempt, httpStatus: result.status };
      }
      if (result.status === 410) {
        const error = `answered 410 Gone: the subscription is disabled${result.text ? ` (${result.text})` : ''}`;
        await logAttempt(deliveryId, attempt, { ms: result.ms, status: 410, outcome: 'gave_up', error });
        await pool.query('UPDATE webhook_subscriptions SET active = false, disabled_reason = $2 WHERE id = $1', [
          target.subscription_id,
          `${receiver} answered 410 Gone at ${new Date().toISOString()}`,
        ]);
        throw ApplicationFailure.nonRetryable(`${receiver} ${error}`, FailureType.ReceiverGone);
      }
      const error = failureOf(result);
      const last = attempt >= WEBHOOK_RETRY.maximumAttempts;
      await logAttempt(deliveryId, attempt, {
        ms: result.ms,
        status: result.status,
        outcome: last ? 'gave_up' : 'retry',
        error,
      });
      throw ApplicationFailure.retryable(
        `${receiver} ${error} (attempt ${attempt} of ${WEBHOOK_RETRY.maximumAttempts})`,
        FailureType.ReceiverFailed,
      );
    },

    /**
     * Records a delivery that ended without success for a reason its attempts did not log (e.g. an attempt
     * that ran past its time limit). A delivered one stays delivered.
     */
    async finishFailedDelivery(input: { deliveryId: string; reason: string; generation?: number }): Promise<void> {
      // Only the run of the current generation: an older run ending after `tedi redeliver` queued the
      // delivery again must not mark the new queuing failed.
      await pool.query(
        `UPDATE webhook_deliveries SET status = 'failed', last_error = COALESCE(last_error, $2)
          WHERE id = $1 AND status = 'pending' AND redeliveries = $3`,
        [input.deliveryId, input.reason, input.generation ?? 0],
      );
    },
  };
}
