// What PostgreSQL can store, checked before it is asked to: a bad cell becomes one rejected row with its
// reason, never a database error that fails (and retries) the whole run.
//   - text with a NUL byte (U+0000): neither `text` nor `jsonb` can hold it;
//   - a number that is not finite (a JSON 1e999 parses as Infinity, which JSON.stringify would turn into
//     null: a value invented from nothing);
//   - a series key, period or unit longer than the bounds below (a 30 MB "key" is a broken file, not a key);
//   - a value that is not a plain decimal of at most MAX_VALUE_CHARS characters.
import { type ObservationRow, RowRejected } from '../../sources/kit/types';

export const MAX_SERIES_KEY_CHARS = 2048;
export const MAX_PERIOD_CHARS = 64;
export const MAX_UNIT_CHARS = 256;
/** Far beyond any statistic, far below PostgreSQL numeric's limits (131,072 digits). */
export const MAX_VALUE_CHARS = 1000;

const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** Why a raw record cannot be staged as JSON, or null when it can. One walk over the record. */
export function unstorableReason(record: unknown, path = 'record'): string | null {
  if (typeof record === 'string') {
    return record.includes('\u0000') ? `${path} contains a NUL byte (U+0000)` : null;
  }
  if (typeof record === 'number') return Number.isFinite(record) ? null : `${path} is not a finite number (${record})`;
  if (record === null || typeof record !== 'object') return null;
  if (Array.isArray(record)) {
    for (let i = 0; i < record.length; i++) {
      const reason = unstorableReason(record[i], `${path}[${i}]`);
      if (reason) return reason;
    }
    return null;
  }
  for (const [key, value] of Object.entries(record)) {
    if (key.includes('\u0000')) return `${path} has a field name with a NUL byte (U+0000)`;
    const reason = unstorableReason(value, `${path}.${key}`);
    if (reason) return reason;
  }
  return null;
}

function tooLong(what: string, text: string, max: number): RowRejected {
  return new RowRejected(`${what} is ${text.length} characters long (at most ${max}): "${text.slice(0, 40)}…"`);
}

/** Throws RowRejected when a canonical row cannot be stored as it is. */
export function assertStorable(row: ObservationRow): void {
  if (row.seriesKey.length === 0) throw new RowRejected('the series key is empty');
  if (row.seriesKey.length > MAX_SERIES_KEY_CHARS) throw tooLong('the series key', row.seriesKey, MAX_SERIES_KEY_CHARS);
  if (row.period.length === 0) throw new RowRejected(`${row.seriesKey}: the period is empty`);
  if (row.period.length > MAX_PERIOD_CHARS) throw tooLong('the period', row.period, MAX_PERIOD_CHARS);
  if (row.unit !== null && row.unit.length > MAX_UNIT_CHARS) throw tooLong('the unit', row.unit, MAX_UNIT_CHARS);
  if (row.value !== null && (row.value.length > MAX_VALUE_CHARS || !PLAIN_DECIMAL.test(row.value))) {
    throw new RowRejected(
      `${row.seriesKey} ${row.period}: value "${row.value.slice(0, 40)}" is not a plain decimal of at most ${MAX_VALUE_CHARS} characters`,
    );
  }
  const reason = unstorableReason([row.seriesKey, row.period, row.unit, row.attributes], 'row');
  if (reason) throw new RowRejected(`${row.seriesKey.slice(0, 80)} ${row.period.slice(0, 20)}: ${reason}`);
}
