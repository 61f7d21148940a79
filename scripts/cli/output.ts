// What the CLI prints: aligned tables and key/value blocks for people, JSON for scripts (--json).
// Results go to stdout; progress, notices and errors go to stderr, so `--json | jq` always gets clean JSON.

export const JSON_HELP = 'print JSON (for scripts) instead of text';

export interface Column<R> {
  header: string;
  value: (row: R) => string;
  align?: 'left' | 'right';
}

const GAP = 2;
/** A column is never cut narrower than this (or its natural width, if smaller): "abcd…" still says something. */
export const MIN_COLUMN_WIDTH = 6;

/** The terminal's width when stdout is one; undefined when piped or redirected (then tables are never cut). */
export function terminalWidth(): number | undefined {
  return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined;
}

/**
 * Column widths that fit `maxWidth`: the widest column loses a character at a time until the table fits
 * or every column is down to MIN_COLUMN_WIDTH (then it is as narrow as it gets, and the terminal wraps).
 */
function fitWidths(natural: readonly number[], maxWidth: number | undefined): number[] {
  const widths = [...natural];
  if (maxWidth === undefined) return widths;
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
  while (total() > maxWidth) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > Math.min(MIN_COLUMN_WIDTH, natural[i]!) && (widest < 0 || w > widths[widest]!)) widest = i;
    });
    if (widest < 0) break;
    widths[widest]!--;
  }
  return widths;
}

const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/** Aligned columns; with `maxWidth` (a terminal's width) the widest columns are cut with "…" to fit it. */
export function renderTable<R>(rows: readonly R[], columns: readonly Column<R>[], maxWidth?: number): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const natural = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const widths = fitWidths(natural, maxWidth);
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const text = cut(v, widths[i]!);
        return columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** A table on stdout, cut to the terminal's width when stdout is a terminal (never when piped). */
export function printTable<R>(rows: readonly R[], columns: readonly Column<R>[], empty = '(none)'): void {
  console.log(rows.length ? renderTable(rows, columns, terminalWidth()) : empty);
}

/** "label: value" lines, values aligned; a null value prints as "-". */
export function renderFields(fields: readonly [string, string | null | undefined][], indent = '  '): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)} ${value ?? '-'}`).join('\n');
}

/** JSON that survives the database's BIGINT columns (JSON.stringify throws on a bigint). */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v),
    2,
  );
}

export function printJson(value: unknown): void {
  console.log(toJson(value));
}

/** A notice for the person at the terminal, kept out of stdout. */
export function notice(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** "2026-01-31 06:00Z": minute precision is what an operator reads; --json keeps full ISO times. */
export function formatTime(d: Date | string | null | undefined): string {
  if (!d) return '-';
  return new Date(d)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d{2}\.\d{3}Z$/, 'Z');
}

/** 90 s, 12 min, 6 h, 3 d. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s * 10) / 10} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function formatCount(n: number | bigint | null | undefined): string {
  return n === null || n === undefined ? '-' : Number(n).toLocaleString('en-US');
}

export function truncate(text: string | null | undefined, max: number): string {
  if (!text) return '-';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
