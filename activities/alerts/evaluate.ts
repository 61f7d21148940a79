// The alert evaluator: what holds now (conditions.ts) against the open incidents. New conditions open an
// incident, cleared ones resolve theirs, and each transition becomes one notification per matching active
// channel. All of it in one transaction, so two evaluators (a retried activity) never alert twice: an
// incident opens once (incidents_open_key) and a transition is notified once per channel (unique key).
import type { Pool, PoolClient } from 'pg';
import { type Condition, currentConditions, NOTICE_KINDS, seriesNotices } from './conditions';

export interface EvaluationResult {
  opened: number;
  resolved: number;
  /** Notifications whose delivery workflow is still to start (the alert monitor starts them). */
  toSend: NotificationToSend[];
}

export interface NotificationToSend {
  notificationId: string;
  channel: string;
  kind: string;
  source: string;
  transition: 'opened' | 'resolved';
}

/** Serialises evaluators (pg_advisory_xact_lock key; "TEDI" + "ALRT"). */
const EVALUATOR_LOCK = 0x5445_4449_414c_5254n;

async function openIncidents(client: PoolClient, conditions: Condition[], notice: boolean): Promise<number> {
  let opened = 0;
  for (const c of conditions) {
    const row = await client.query(
      `INSERT INTO incidents (kind, dataset_version_id, source_name, subject, summary, details, resolved_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)
       ON CONFLICT (kind, dataset_version_id, subject) WHERE resolved_at IS NULL DO NOTHING
       RETURNING id`,
      [c.kind, c.datasetVersionId, c.sourceName, c.subject, c.summary, JSON.stringify(c.details), notice],
    );
    if (row.rowCount) {
      opened++;
      await notify(client, row.rows[0].id, 'opened');
    }
  }
  return opened;
}

/** One notification of `transition` per active channel whose kind and source filters match. */
async function notify(client: PoolClient, incidentId: string, transition: 'opened' | 'resolved'): Promise<void> {
  await client.query(
    `INSERT INTO alert_notifications (incident_id, channel_id, transition)
     SELECT i.id, c.id, $2 FROM incidents i JOIN alert_channels c
         ON c.active AND (cardinality(c.kinds) = 0 OR i.kind = ANY(c.kinds))
                     AND (cardinality(c.sources) = 0 OR i.source_name = ANY(c.sources))
      WHERE i.id = $1
     ON CONFLICT (incident_id, channel_id, transition) DO NOTHING`,
    [incidentId, transition],
  );
}

export async function evaluateAlerts(pool: Pool, limit = 100): Promise<EvaluationResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [EVALUATOR_LOCK.toString()]);
    const holding = await currentConditions(client);
    const notices = await seriesNotices(client);
    const opened = (await openIncidents(client, holding, false)) + (await openIncidents(client, notices, true));

    // Open state incidents whose condition no longer holds are resolved.
    const open = await client.query<{ id: string; kind: string; dataset_version_id: number; subject: string }>(
      `SELECT id::text, kind, dataset_version_id, subject FROM incidents
        WHERE resolved_at IS NULL AND NOT (kind = ANY($1))`,
      [NOTICE_KINDS],
    );
    const stillHolds = new Set(holding.map((c) => `${c.kind}|${c.datasetVersionId}|${c.subject}`));
    let resolved = 0;
    for (const incident of open.rows) {
      if (stillHolds.has(`${incident.kind}|${incident.dataset_version_id}|${incident.subject}`)) continue;
      await client.query('UPDATE incidents SET resolved_at = now() WHERE id = $1', [incident.id]);
      await notify(client, incident.id, 'resolved');
      resolved++;
    }
    await client.query('COMMIT');
    return { opened, resolved, toSend: await unstartedNotifications(pool, limit) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function unstartedNotifications(pool: Pool, limit: number): Promise<NotificationToSend[]> {
  const rows = await pool.query<NotificationToSend>(
    `SELECT n.id::text AS "notificationId", c.name AS channel, i.kind, i.source_name AS source, n.transition
       FROM alert_notifications n
       JOIN alert_channels c ON c.id = n.channel_id
       JOIN incidents i ON i.id = n.incident_id
      WHERE n.status = 'pending' AND n.started_at IS NULL
      ORDER BY n.id LIMIT $1`,
    [limit],
  );
  return rows.rows;
}

export async function markNotificationsStarted(pool: Pool, ids: string[]): Promise<void> {
  await pool.query(
    'UPDATE alert_notifications SET started_at = now() WHERE id = ANY($1::bigint[]) AND started_at IS NULL',
    [ids],
  );
}
