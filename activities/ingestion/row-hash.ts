// Content hashing. A row's hash covers everything stored about it, so "unchanged" means byte-for-byte
// the same observation; the dataset checksum chains row hashes in source order.
import crypto from 'node:crypto';
import type { ObservationRow } from '../../sources/kit/types';

/** JSON with object keys sorted, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function rowHash(row: ObservationRow): string {
  return crypto
    .createHash('sha256')
    .update(canonicalJson([row.seriesKey, row.period, row.value, row.unit, row.attributes]))
    .digest('hex')
    .slice(0, 32);
}
