// FAOSTAT bulk route (keyless). The catalogue datasets_E.json gives each domain's DateUpdate, FileRows,
// FileSize and FileLocation; the zip at FileLocation holds "<Name>_E_All_Data_(Normalized).csv" (UTF-8)
// next to code-list side files. A zip can only be read from its central directory at the end, so the body
// is streamed to a temporary file first, then the one CSV entry is inflated and parsed as a stream: at no
// point is the archive, or the CSV, held in memory (QCL is some 4 million rows).
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import yauzl from 'yauzl';
import { z } from 'zod';
import { configurationError, invalidPayload } from '../../../lib/failures';
import { csvRecords, requireColumns } from '../../kit/csv';
import { payloadOf } from '../../kit/refusals';
import { makeSpoolDir, removeSpoolDir } from '../../kit/spool';
import { spoolThrough } from '../../kit/spool-file';
import type { ProbeResult, SourceContext } from '../../kit/types';
import { describeAreas, type FaostatParams, resolveSourceUrl } from './params';
import { REQUIRED_COLUMNS } from './transform';

const NORMALIZED_ENTRY = /_All_Data_\(Normalized\)\.csv$/i;
const M49_COLUMN = 'Area Code (M49)';
/** Heartbeat spacing: often enough for a heartbeat timeout of tens of seconds on a slow link or disk. */
const HEARTBEAT_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_ROWS = 50_000;

type Ctx = SourceContext<FaostatParams>;

// The real catalogue is XML turned into JSON: {"Datasets":{"-xmlns:xsi":…,"Dataset":[…]}}. Such converters
// write a one-element list as a bare object, so that is accepted too.
const CatalogueSchema = z.object({
  Datasets: z.object({
    Dataset: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown()).transform((d) => [d])], {
      error: 'expected a list of datasets',
    }),
  }),
});

const DatasetEntrySchema = z.object({
  DatasetCode: z.string(),
  DateUpdate: z.string().trim().min(1, 'is empty'),
  FileLocation: z.string().trim().min(1, 'is empty'),
  FileRows: z.union(
    [z.number().int().nonnegative(), z.string().trim().regex(/^\d+$/, 'expected a row count such as 4129950')],
    { error: 'expected a row count such as 4129950' },
  ),
  FileSize: z.union([z.number().nonnegative(), z.string().trim().min(1)], { error: 'expected a file size' }),
});

export interface BulkDataset {
  code: string;
  dateUpdate: string;
  fileRows: string;
  fileSize: string;
  /** Absolute URL of the zip (FileLocation, resolved against the catalogue's URL). */
  fileLocation: string;
}

const datasetCodeOf = (entry: unknown) => (entry as { DatasetCode?: unknown } | null)?.DatasetCode;

/** The configured domain's entry in the bulk catalogue. */
export async function readBulkDataset(ctx: Ctx): Promise<BulkDataset> {
  const code = ctx.params.datasetCode;
  const url = resolveSourceUrl(ctx.baseUrl, ctx.params.bulkCatalogUrl);
  // The bulk route is keyless: the account configured for the api route never goes with it, even to a bulk
  // mirror under the base URL (a relative bulkCatalogUrl), so a stored account cannot break it.
  const body = await ctx.http.getJson(url, { anonymous: true });
  const what = `FAOSTAT bulk catalogue ${url}`;
  const list = payloadOf(CatalogueSchema, body, `${what}: not a {"Datasets":{"Dataset":[…]}} body`).Datasets.Dataset;
  const index = list.findIndex((entry) => datasetCodeOf(entry) === code);
  if (index < 0) {
    const known = list.map(datasetCodeOf).filter((c): c is string => typeof c === 'string');
    throw configurationError(
      `${what} has no dataset "${code}" (params.datasetCode); it lists ` +
        `${known.slice(0, 40).join(', ') || 'none'}${known.length > 40 ? ', …' : ''}.`,
    );
  }
  const entry = payloadOf(DatasetEntrySchema, list[index], `${what}: Datasets.Dataset[${index}] (${code})`);
  let fileLocation: string;
  try {
    fileLocation = new URL(entry.FileLocation, url).toString();
  } catch {
    throw invalidPayload(`${what}: Datasets.Dataset[${index}].FileLocation is not a URL: ${entry.FileLocation}`);
  }
  return {
    code,
    dateUpdate: entry.DateUpdate,
    fileRows: String(entry.FileRows),
    fileSize: String(entry.FileSize),
    fileLocation,
  };
}

export async function probeBulk(ctx: Ctx): Promise<ProbeResult> {
  const d = await readBulkDataset(ctx);
  return {
    token: `${d.dateUpdate}|${d.fileRows}|${d.fileSize}`,
    note: `${d.code} DateUpdate ${d.dateUpdate}, ${d.fileRows} rows, ${d.fileSize}`,
  };
}

/** Streams the response body to `file`, heartbeating as the bytes arrive. */
async function download(ctx: Ctx, url: string, file: string): Promise<number> {
  const res = await ctx.http.request(url, { anonymous: true });
  let nextBeat = HEARTBEAT_BYTES;
  const heartbeat = ({ bytes }: { bytes: number }) => {
    if (bytes < nextBeat) return;
    ctx.heartbeat({ stage: 'download', downloaded: bytes });
    nextBeat += HEARTBEAT_BYTES;
  };
  let bytes = 0;
  for await (const chunk of spoolThrough(ctx.http.stream(res), file, heartbeat)) bytes += chunk.length;
  return bytes;
}

async function findNormalizedEntry(zip: yauzl.ZipFile, where: string): Promise<yauzl.Entry> {
  const names: string[] = [];
  for await (const entry of zip.eachEntry()) {
    if (NORMALIZED_ENTRY.test(entry.fileName)) return entry;
    names.push(entry.fileName);
  }
  throw invalidPayload(
    `${where}: no *_All_Data_(Normalized).csv entry; the zip holds ${names.join(', ') || 'nothing'}`,
  );
}

/** The header check (on the first row), naming the missing columns as quoted names. */
function headerCheck(params: FaostatParams, where: string): (names: string[]) => string[] {
  const needed: string[] = [...REQUIRED_COLUMNS];
  if (params.areas.some((a) => a.startsWith("'"))) needed.push(M49_COLUMN);
  return requireColumns(needed, where, { list: (missing) => missing.map((c) => `"${c}"`).join(', ') });
}

/**
 * Classifies a failure while reading the downloaded zip: the bytes are already here, so a parse error (bad
 * zip, bad deflate data, bad CSV) means the payload is wrong and a retry cannot help, while a system error
 * (disk full, I/O) or a failure already typed keeps its own retry behaviour.
 */
function asPayloadError(err: unknown, where: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') return err;
  return invalidPayload(`${where}: ${err instanceof Error ? err.message : String(err)}`);
}

/** The rows of the normalized CSV entry of a downloaded zip, filtered to the configured areas. */
async function* readRows(ctx: Ctx, file: string, where: string): AsyncGenerator<Record<string, string>> {
  const { areas } = ctx.params;
  const faoCodes = new Set(areas.filter((a) => !a.startsWith("'")));
  const m49Codes = new Set(areas.filter((a) => a.startsWith("'")));
  const wanted = (row: Record<string, string>) =>
    areas.length === 0 || faoCodes.has(row['Area Code'] ?? '') || m49Codes.has(row[M49_COLUMN] ?? '');

  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  } catch (err) {
    throw asPayloadError(err, `${where}: not a readable zip`);
  }
  let scanned = 0;
  let matched = 0;
  let entryName = '';
  try {
    // Reading the directory and opening the entry parse the archive too: a broken one is a broken payload.
    const entry = await findNormalizedEntry(zip, where).catch((err) => {
      throw asPayloadError(err, `${where}: the zip's directory`);
    });
    entryName = entry.fileName;
    const bytes = await zip.openReadStreamPromise(entry).catch((err) => {
      throw asPayloadError(err, `${where} ${entryName}`);
    });
    try {
      // The files are UTF-8 (BOM-less); the shared rule reads them strictly, params.encoding for other files.
      const text = { encoding: ctx.params.encoding, where: `${where} ${entryName}` };
      const checkHeader = headerCheck(ctx.params, text.where);
      for await (const row of csvRecords(bytes, text)) {
        if (scanned === 0) checkHeader(Object.keys(row));
        scanned++;
        if (scanned % HEARTBEAT_ROWS === 0) ctx.heartbeat({ stage: 'fetch', scanned, matched });
        if (!wanted(row)) continue;
        matched++;
        yield row;
      }
    } catch (err) {
      throw asPayloadError(err, `${where} ${entryName}`);
    }
  } finally {
    zip.close();
  }
  ctx.log('FAOSTAT bulk file read', { dataset: ctx.params.datasetCode, entry: entryName, scanned, matched });
  if (scanned === 0) throw invalidPayload(`${where}: ${entryName} has a header but no rows`);
  // A filter that matches no row is an empty snapshot: the store's guard refuses it, with the hint in index.ts.
}

/** Downloads the domain's zip to a temporary file, streams its rows, and removes the file whatever happens. */
export async function* fetchBulk(ctx: Ctx): AsyncGenerator<Record<string, string>> {
  const dataset = await readBulkDataset(ctx);
  const url = ctx.params.zipUrl ? resolveSourceUrl(ctx.baseUrl, ctx.params.zipUrl) : dataset.fileLocation;
  const where = `FAOSTAT ${dataset.code} bulk zip ${url}`;
  const dir = await makeSpoolDir(`faostat-${dataset.code}`);
  try {
    const file = path.join(dir, `${dataset.code}.zip`);
    const bytes = await download(ctx, url, file);
    ctx.log('FAOSTAT bulk zip downloaded', { dataset: dataset.code, bytes, areas: describeAreas(ctx.params.areas) });
    yield* readRows(ctx, file, where);
  } finally {
    await removeSpoolDir(dir);
  }
}
