// The rate budget every worker process shares, kept in PostgreSQL (the one thing all workers already
// share). Slot reservation rather than a token count: each bucket row holds the earliest time its next
// request may go, and a reservation moves it on by one spacing (1 / requests per second) in a single
// statement, returning how long the caller must wait for the slot it got. Waiting happens in the caller,
// after the statement has committed: no transaction and no row lock is held while anyone sleeps, and the
// order in which statements reach the rows is the order of the slots (FIFO-ish across processes).
//
// Two buckets per request, reserved together: the host's (`host:<host>`, at host_rate_limits'
// requests_per_second, or at the source's own rate when the host has no row) and the source's own
// (`source:<name>`, at data_source_configs.rate_limit_per_second). The slot is the later of the two, so
// a host declared at 10/s still never sees more than 1/s from a source configured at 1/s.
import type { Pool } from 'pg';
import { z } from 'zod';
import { configurationError } from '../../../lib/failures';
import type { RateBudget } from './rate-budget';

// Rows are locked in bucket order ('host:…' before 'source:…'), so two reservations can never deadlock.
// clock_timestamp(), not now(): the time after the locks were granted, not when the statement began.
// `moved` only runs when both rows exist and the declared rate is usable; otherwise nothing changes and
// the caller creates the rows or reports the bad declaration.
const RESERVE_SQL = `
WITH declared AS (
  SELECT (SELECT requests_per_second FROM host_rate_limits WHERE host = $1::text) AS rps
),
usable AS (
  -- NaN sorts above every number in PostgreSQL, so "rps > 0" alone would let it through.
  SELECT rps, rps IS NULL OR (rps > 0 AND rps < 'Infinity'::float8) AS ok,
         CASE WHEN rps > 0 AND rps < 'Infinity'::float8 THEN rps ELSE $3::float8 END AS host_rps
    FROM declared
),
wanted (bucket, spacing) AS (
  SELECT 'host:' || $1::text, make_interval(secs => 1.0 / host_rps) FROM usable
  UNION ALL
  SELECT 'source:' || $2::text, make_interval(secs => 1.0 / $3::float8)
),
locked AS (
  SELECT s.bucket, s.next_slot_at FROM rate_budget_slots s
   WHERE s.bucket IN (SELECT bucket FROM wanted)
   ORDER BY s.bucket
   FOR UPDATE
),
slot AS (
  SELECT greatest(clock_timestamp(), max(next_slot_at)) AS at, count(*)::int AS found FROM locked
),
moved AS (
  UPDATE rate_budget_slots s SET next_slot_at = slot.at + w.spacing
    FROM slot, wanted w, usable
   WHERE s.bucket = w.bucket AND slot.found = 2 AND usable.ok
)
SELECT slot.found, usable.ok, usable.rps::text AS declared,
       extract(epoch FROM slot.at - clock_timestamp())::float8 * 1000 AS delay_ms
  FROM slot, usable`;

// 'epoch' (1970), not '-infinity': a slot long past means "now", and Prisma can read the row.
const CREATE_SQL = `
INSERT INTO rate_budget_slots (bucket, next_slot_at)
VALUES ('host:' || $1::text, 'epoch'), ('source:' || $2::text, 'epoch')
ON CONFLICT (bucket) DO NOTHING`;

/** What the statement returns, checked: a driver or schema surprise fails loudly, not as a wrong delay. */
const Reservation = z.object({
  found: z.number().int(),
  ok: z.boolean(),
  /** Text: NaN and Infinity are floats PostgreSQL stores but no JSON number can hold. */
  declared: z.string().nullable(),
  delay_ms: z.number(),
});

export interface SourceRate {
  /** data_source_configs' source name: the source's own bucket. */
  sourceName: string;
  /** data_source_configs.rate_limit_per_second: the source's cap, and its hosts' budget when undeclared. */
  requestsPerSecond: number;
}

export class PostgresRateBudget implements RateBudget {
  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly source: SourceRate,
  ) {
    const rps = source.requestsPerSecond;
    if (!(rps > 0 && Number.isFinite(rps))) {
      throw configurationError(
        `Source "${source.sourceName}" has rate_limit_per_second ${rps}: it must be a positive number ` +
          '(requests per second). Fix data_source_configs.rate_limit_per_second.',
      );
    }
  }

  /** One round trip once the rows exist (every request but a bucket's first ever). */
  async reserve(host: string): Promise<number> {
    const params = [host, this.source.sourceName, this.source.requestsPerSecond];
    let reservation = await this.query(params);
    if (reservation.found < 2 && reservation.ok) {
      await this.pool.query(CREATE_SQL, params.slice(0, 2));
      reservation = await this.query(params);
    }
    if (!reservation.ok) {
      throw configurationError(
        `host_rate_limits declares ${reservation.declared} requests per second for ${host}: it must be a ` +
          'positive finite number. Fix or delete that row.',
      );
    }
    if (reservation.found < 2) throw new Error(`rate budget rows for ${host} vanished while being created`);
    return Math.max(0, reservation.delay_ms);
  }

  private async query(params: unknown[]) {
    const { rows } = await this.pool.query(RESERVE_SQL, params);
    return Reservation.parse(rows[0]);
  }
}
