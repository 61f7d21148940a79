// ISO 8601 dates and times as TEDI reads them from people (the CLI) and from consumers (the read query
// layer): without a zone it is UTC, so the answer never depends on the machine's time zone.

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A date or date-time in ISO 8601; without a zone it is UTC. A calendar date that does not exist is null. */
export function parseIsoTime(text: string): Date | null {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi] = m;
  // Date.parse rolls 2026-02-30 over to March; a calendar date that does not exist is an error instead.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) return null;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59)) return null;
  const zoned = h === undefined ? `${text.trim()}T00:00:00Z` : m[7] ? text.trim() : `${text.trim()}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : new Date(ms);
}
