// XLSX rows through exceljs's streaming WorkbookReader: the workbook is never loaded whole (exceljs
// parks a worksheet in a temporary file only when it comes before the shared strings in the zip).
// The header is the sheet's first non-empty row; cells become text or numbers, dates ISO text.
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { configurationError } from '../../../../lib/failures';
import type { Cell } from '../row-schema';
import { checkHeader, pickCells, type Reader } from './row';

/** What the streaming reader exposes at run time (its typings leave out the sheet's name). */
interface SheetReader extends AsyncIterable<{ values: unknown }> {
  name?: string;
}
interface BookReader extends AsyncIterable<SheetReader> {
  /** Parsed workbook.xml: sheets in tab order. */
  model?: { sheets?: Array<{ name?: string }> };
}

/** 2023-01-15T00:00:00Z → "2023-01-15": a date-formatted cell is a date; a time of day is kept only when there is one. */
function dateText(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

function cellOf(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return dateText(value);
  const v = value as {
    richText?: Array<{ text?: string }>;
    result?: unknown;
    formula?: string;
    error?: string;
    text?: unknown;
  };
  if (v.richText) return v.richText.map((r) => r.text ?? '').join('');
  // A formula counts for the value it last computed; "#N/A" and friends stay visible as text.
  if ('formula' in v || 'sharedFormula' in v) return cellOf(v.result);
  if (v.error !== undefined) return v.error;
  if (v.text !== undefined) return cellOf(v.text);
  return JSON.stringify(value);
}

function isWanted(wanted: string | number, name: string | undefined, position: number): boolean {
  return typeof wanted === 'number' ? position === wanted : name === wanted;
}

export const readXlsx: Reader = async function* (bytes, { params, columns }) {
  const book = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from(bytes), {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles tell a date cell from a number cell; without them dates arrive as day counts.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as BookReader;
  const wanted = params.sheet ?? 1;
  const seen: string[] = [];
  let found = false;
  for await (const sheet of book) {
    const name = sheet.name ?? `#${seen.length + 1}`;
    seen.push(name);
    // Sheets arrive in file order; a sheet's position is its place among the tabs when workbook.xml says so.
    const tabs = book.model?.sheets?.map((s) => s.name);
    const position = tabs?.includes(name) ? tabs.indexOf(name) + 1 : seen.length;
    // A sheet that is not read is drained by exceljs before the next one starts.
    if (found || !isWanted(wanted, name, position)) continue;
    found = true;
    let indexOf: Map<string, number> | undefined;
    for await (const row of sheet) {
      // row.values is 1-based and sparse: holes are empty cells.
      const cells = (row.values as unknown[]).map(cellOf);
      if (cells.every((c) => c === null || c === '')) continue;
      if (!indexOf) {
        const header = Array.from(cells, (c) => String(c ?? '').trim());
        checkHeader(header, columns, params);
        indexOf = new Map(header.map((column, i) => [column, i]));
        continue;
      }
      const at = indexOf;
      yield { values: pickCells(columns, (c) => cells[at.get(c) ?? -1]) };
    }
  }
  if (!found) {
    throw configurationError(
      `the workbook has no sheet ${typeof wanted === 'number' ? `number ${wanted}` : `"${wanted}"`}; ` +
        `its sheets are: ${seen.join(', ') || 'none'}. Fix params.sheet.`,
    );
  }
};
