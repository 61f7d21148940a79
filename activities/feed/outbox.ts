// The change feed's outbox: the event that tells consumers a revision landed is written by the merge, in
// the revision's own transaction, so an event exists exactly when its revision does (a rolled-back load
// leaves neither; a committed one always has its event, whatever crashes after the commit).
//
// Two guarantees consumers rely on, both made here:
// - events commit in id order: the insert takes a transaction-level lock held until commit, so a reader
//   that asks for `id > last seen` never misses an event that a slower concurrent load commits later
//   with a smaller id. The lock covers only the tail of a load (this insert to its commit).
// - listeners hear of it at commit: NOTIFY is transactional, so the dispatcher and the SSE stream wake
//   when the event becomes visible, never before and never for a rolled-back one.
import type { PoolClient } from 'pg';

/** The PostgreSQL channel the outbox notifies (payload: the event id) at commit. */
export const CHANGE_CHANNEL = 'tedi_change_events';

/** Serialises the outbox's inserts to commit (pg_advisory_xact_lock key; "TEDI" + "FEED" in ASCII). */
const OUTBOX_LOCK = 0x5445_4449_4645_4544n;

export const REVISION_CREATED = 'revision.created';

/** What a `revision.created` event carries (the webhook body's `data`, an SSE message's `data`). */
export interface RevisionCreated {
  source: string;
  dataset: string;
  version: string;
  revision: number;
  /** The revision it replaces (null for the first). */
  previousRevision: number | null;
  committedAt: string;
  counts: { records: number; added: number; updated: number; removed: number; kept: number };
  checksum: string;
  /** The source's own release token seen (e.g. World Bank lastupdated); null when it has none. */
  releaseToken: string | null;
  /** What an operator accepted for this revision that a snapshot guard would have refused; null normally. */
  acceptedOverride: string | null;
  /** Read API paths (relative to the API's base URL) to what changed. */
  links: { revision: string; observations: string; diff: string };
}

export interface ChangeEvent {
  id: string;
  type: typeof REVISION_CREATED;
  createdAt: string;
  data: RevisionCreated;
}

/**
 * Writes the `revision.created` event of the revision the caller's transaction has just inserted into
 * dataset_revisions, and notifies listeners at commit. Returns the event id.
 */
export async function recordRevisionCreated(
  client: PoolClient,
  datasetVersionId: number,
  revision: number,
): Promise<string> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [OUTBOX_LOCK.toString()]);
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO change_events (type, dataset_version_id, source_name, revision, payload)
     SELECT $3, v.id, s.name, r.revision,
            jsonb_build_object(
              'source', s.name, 'dataset', d.slug, 'version', v.version, 'revision', r.revision,
              'previousRevision', NULLIF(r.revision - 1, 0),
              'committedAt', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'counts', jsonb_build_object('records', r.record_count, 'added', r.records_added,
                                           'updated', r.records_updated, 'removed', r.records_removed,
                                           'kept', r.records_kept),
              'checksum', r.checksum, 'releaseToken', r.probe_token, 'acceptedOverride', r.accepted_override,
              'links', jsonb_build_object(
                'revision', format('/v1/sources/%s/revisions?version=%s', s.name, v.version),
                'observations', format('/v1/sources/%s/observations?version=%s&revision=%s', s.name, v.version, r.revision),
                'diff', format('/v1/sources/%s/diff?version=%s&from=%s&to=%s', s.name, v.version, r.revision - 1, r.revision)))
       FROM dataset_revisions r
       JOIN dataset_versions v ON v.id = r.dataset_version_id
       JOIN datasets d ON d.id = v.dataset_id
       JOIN data_sources s ON s.id = v.data_source_id
      WHERE r.dataset_version_id = $1 AND r.revision = $2
     RETURNING id`,
    [datasetVersionId, revision, REVISION_CREATED],
  );
  const id = inserted.rows[0]?.id;
  if (!id)
    throw new Error(`outbox: revision ${revision} of dataset version ${datasetVersionId} is not in this transaction`);
  await client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, id]);
  return id;
}

interface EventRow {
  id: string;
  type: typeof REVISION_CREATED;
  created_at: Date;
  payload: RevisionCreated;
}

/** An outbox row as consumers receive it. One shape for webhooks, the SSE stream and the API. */
export function changeEventOf(row: EventRow): ChangeEvent {
  return { id: String(row.id), type: row.type, createdAt: row.created_at.toISOString(), data: row.payload };
}

export const EVENT_COLUMNS = 'id, type, created_at, payload';

/** Events after `afterId` (optionally of some sources), oldest first, at most `limit`. */
export async function eventsAfter(
  db: { query: PoolClient['query'] },
  afterId: string,
  options: { sources?: string[]; limit: number },
): Promise<ChangeEvent[]> {
  const sources = options.sources?.length ? options.sources : null;
  const rows = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM change_events
      WHERE id > $1 AND ($2::text[] IS NULL OR source_name = ANY($2))
      ORDER BY id LIMIT $3`,
    [afterId, sources, options.limit],
  );
  return rows.rows.map(changeEventOf);
}

/** The newest event id (0 when there is none): where a new subscriber or stream starts. */
export async function latestEventId(db: { query: PoolClient['query'] }): Promise<string> {
  const row = await db.query<{ id: string }>('SELECT COALESCE(max(id), 0)::text AS id FROM change_events');
  return row.rows[0]?.id ?? '0';
}
