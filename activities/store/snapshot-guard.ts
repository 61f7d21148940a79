// The snapshot guards: the one place that decides whether an incoming snapshot may become a revision.
// Every source goes through them, in the load step, before anything is written:
//   - an empty snapshot is refused (it would close every stored row, or, on a first load, hide a wrong
//     query), unless the source declares empty answers legitimate (data_source_configs.allow_empty_snapshot);
//   - a snapshot that removes more than `maxRemovedRatio` of the current rows (default 20 %,
//     data_source_configs.max_removed_ratio) is refused; removing exactly the ratio is allowed;
//   - a snapshot that repeats a (series, period) key is refused with the keys and row numbers, unless the
//     connector declares identical repeats harmless (`duplicateKeys: 'collapse-identical'`); rows that
//     repeat a key with different content are always refused: there is no silent "last row wins".
// A refusal is a non-retryable SuspiciousSnapshot failure; the previous revision stays exactly as it was.
// An operator accepts an empty or shrunken snapshot for one run (`acceptRemovals`), and the acceptance is
// recorded in that run's log row. Duplicate keys cannot be accepted: they are a connector bug to fix.
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import { FailureType } from '../../lib/failures';
import type { DuplicateKeyRule } from '../../sources/kit/types';

/** Default share of current rows one snapshot may remove; per source in data_source_configs.max_removed_ratio. */
export const DEFAULT_MAX_REMOVED_RATIO = 0.2;

export interface SnapshotPolicy {
  allowEmpty: boolean;
  maxRemovedRatio: number;
  duplicateKeys: DuplicateKeyRule;
  /** The connector's hint for an empty answer (e.g. which params to check). */
  emptyHint?: string;
}

export interface SnapshotShape {
  /** Rows in the incoming snapshot (after identical repeats are collapsed). */
  incoming: number;
  /** Rows current before this load. */
  current: number;
  /** Current rows this snapshot would close without a successor. */
  removed: number;
}

export type SnapshotVerdict = { ok: true; accepted: string | null } | { ok: false; message: string };

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** The empty and shrink rules. Pure: the code that decides is the code the tests pin. */
export function judgeSnapshot(shape: SnapshotShape, policy: SnapshotPolicy, acceptRemovals: boolean): SnapshotVerdict {
  const howToAccept =
    'If this is what the source really publishes now, run it once more accepting it ' +
    '(npm run tedi -- trigger <source> --accept-removals, or workflow input "acceptRemovals": true).';
  if (shape.incoming === 0 && !policy.allowEmpty) {
    if (shape.current === 0) {
      // Nothing would be lost, but an empty first answer is almost always a wrong query, never data.
      return {
        ok: false,
        message: `the source returned no rows${policy.emptyHint ? `: ${policy.emptyHint}` : ''}. Nothing was loaded.`,
      };
    }
    if (!acceptRemovals) {
      return {
        ok: false,
        message:
          `the snapshot is empty and would remove all ${shape.current} current rows; the current revision is kept. ` +
          `${policy.emptyHint ? `${policy.emptyHint}. ` : ''}${howToAccept}`,
      };
    }
    return { ok: true, accepted: `operator accepted an empty snapshot removing all ${shape.current} current rows` };
  }
  if (shape.current > 0 && shape.removed > 0) {
    const ratio = shape.removed / shape.current;
    if (ratio > policy.maxRemovedRatio) {
      if (!acceptRemovals) {
        return {
          ok: false,
          message:
            `the snapshot would remove ${shape.removed} of ${shape.current} current rows (${percent(ratio)}, ` +
            `more than the ${percent(policy.maxRemovedRatio)} allowed); the current revision is kept. ${howToAccept}`,
        };
      }
      return {
        ok: true,
        accepted: `operator accepted removing ${shape.removed} of ${shape.current} current rows (${percent(ratio)})`,
      };
    }
  }
  return { ok: true, accepted: null };
}

export function suspiciousSnapshot(sourceName: string, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${sourceName}: ${message}`, FailureType.SuspiciousSnapshot);
}

interface DuplicateKey {
  series_key: string;
  period: string;
  rows: number[];
}

/** How many example keys a duplicate-key refusal names. */
const DUPLICATE_EXAMPLES = 5;

/**
 * Refuses a snapshot that repeats a (series, period) key, naming the first keys and their row numbers
 * (the raw record numbers, as rejects are numbered). Cheap when there is none: the caller passes the
 * staged row count and the distinct key count it already has.
 */
export async function refuseDuplicateKeys(
  client: PoolClient,
  input: { stagingTable: string; sourceName: string; rule: DuplicateKeyRule; stagedRows: number; distinctKeys: number },
): Promise<void> {
  if (input.stagedRows === input.distinctKeys) return;
  const differing = input.rule === 'collapse-identical' ? 'AND count(DISTINCT row_hash) > 1' : '';
  const { rows } = await client.query<DuplicateKey>(
    `SELECT series_key, period, array_agg(record_seq ORDER BY seq) AS rows
       FROM ${input.stagingTable}
      GROUP BY series_key, period HAVING count(*) > 1 ${differing}
      ORDER BY min(seq) LIMIT ${DUPLICATE_EXAMPLES}`,
  );
  if (rows.length === 0) return; // only identical repeats, which this connector declares harmless
  const examples = rows
    .map((d) => `(${d.series_key}, ${d.period}) at records ${d.rows.slice(0, 5).join(', ')}`)
    .join('; ');
  const what = input.rule === 'collapse-identical' ? ' with different content' : '';
  throw suspiciousSnapshot(
    input.sourceName,
    `the snapshot repeats (series, period) keys${what}: ${examples}. No row is picked silently; the current revision is kept. ` +
      'The connector must tell such rows apart (e.g. a missing dimension in the series key) or declare a rule for them.',
  );
}
