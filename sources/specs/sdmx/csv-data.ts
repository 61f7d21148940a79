// SDMX-CSV data bodies, streamed through the shared CSV reader. Three header shapes, told apart by the
// first column:
//   - SDMX-CSV 1.0: DATAFLOW ("ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0)"), the dimensions, TIME_PERIOD, OBS_VALUE,
//     then the attributes;
//   - SDMX-CSV 2.0: STRUCTURE ("dataflow"), STRUCTURE_ID ("ESTAT:NA_MAIN(1.6.0)"), an optional ACTION (and
//     STRUCTURE_NAME), then as 1.0;
//   - the ECB's csvdata: KEY ("EXR.D.USD.EUR.SP00.A": dataflow id + series key), then as 1.0.
// Columns before OBS_VALUE (structural ones and TIME_PERIOD aside) are the dimensions, in the order the
// server writes them, which is the DSD order (the ECB's KEY and the requested key are checked against it);
// columns after OBS_VALUE are attributes, and empty cells are no value. Only the OBS_VALUE measure is read
// (SDMX-CSV 2.0 allows others; none of our providers sends them). Answers use ids, not labels (labels=id).
import { invalidPayload } from '../../../lib/failures';
import { csvTable, requireColumns } from '../../kit/csv';
import type { SdmxParams } from './params';
import { checkAgainstKey, type SdmxRecord } from './record';

type Layout = 'sdmx-csv-1.0' | 'sdmx-csv-2.0' | 'ecb-csvdata';

interface Header {
  layout: Layout;
  columns: string[];
  dimensions: string[];
  attributes: string[];
}

/** Structural (non-component) columns of each layout. */
const STRUCTURAL = new Set(['DATAFLOW', 'KEY', 'STRUCTURE', 'STRUCTURE_ID', 'STRUCTURE_NAME', 'ACTION']);

/** The layout and components of a header (csvTable hands the names over trimmed). */
export function readHeader(columns: string[], where: string): Header {
  const first = columns[0] ?? '';
  const layout: Layout | undefined =
    first === 'DATAFLOW'
      ? 'sdmx-csv-1.0'
      : first === 'STRUCTURE' && columns[1] === 'STRUCTURE_ID'
        ? 'sdmx-csv-2.0'
        : first === 'KEY'
          ? 'ecb-csvdata'
          : undefined;
  const shown = columns.join(',').slice(0, 200);
  if (!layout) {
    throw invalidPayload(
      `${where}: not an SDMX-CSV header (expected DATAFLOW, STRUCTURE,STRUCTURE_ID or KEY first): ${shown}`,
    );
  }
  requireColumns(['TIME_PERIOD', 'OBS_VALUE'], where, { list: (missing) => missing.join(' and ') })(columns);
  const value = columns.indexOf('OBS_VALUE');
  const isComponent = (c: string) => !STRUCTURAL.has(c) && c !== 'TIME_PERIOD';
  const dimensions = columns.slice(0, value).filter(isComponent);
  if (dimensions.length === 0)
    throw invalidPayload(`${where}: no dimension columns before OBS_VALUE (header: ${shown})`);
  return { layout, columns, dimensions, attributes: columns.slice(value + 1).filter(isComponent) };
}

/** "ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0)" → agency and id; undefined when it is not that shape. */
function parseStructureRef(ref: string): { agency: string; id: string } | undefined {
  const m = /^([^:()]+):([^:()]+)\(([^()]*)\)$/.exec(ref.trim());
  return m ? { agency: m[1]!, id: m[2]! } : undefined;
}

/** Throws when a row belongs to another dataflow than the one asked for (a server that ignored the path). */
function checkDataflow(
  h: Header,
  row: Record<string, string>,
  p: SdmxParams,
  record: SdmxRecord,
  where: string,
  n: number,
) {
  const fail = (what: string) =>
    invalidPayload(
      `${where}: row ${n} is for ${what}, not ${p.agency}:${p.dataflow} as asked (params.agency, params.dataflow)`,
    );
  if (h.layout === 'ecb-csvdata') {
    const key = row.KEY ?? '';
    const expected = `${p.dataflow}.${record.dimensions.map(([, v]) => v).join('.')}`;
    if (key !== expected) {
      if (!key.startsWith(`${p.dataflow}.`)) throw fail(`KEY ${JSON.stringify(key)}`);
      throw invalidPayload(
        `${where}: row ${n} has KEY ${JSON.stringify(key)} but its dimension columns (${h.dimensions.join(', ')}) ` +
          `read ${JSON.stringify(expected)}: the columns are not in key order`,
      );
    }
    return;
  }
  const refText = h.layout === 'sdmx-csv-1.0' ? (row.DATAFLOW ?? '') : (row.STRUCTURE_ID ?? '');
  if (h.layout === 'sdmx-csv-2.0') {
    if (row.STRUCTURE !== 'dataflow') return; // a datastructure or provision agreement: no dataflow to compare
    if (row.ACTION === 'D') {
      throw invalidPayload(`${where}: row ${n} is a deletion (ACTION D); a data query answer must be a snapshot`);
    }
  }
  const ref = parseStructureRef(refText);
  if (!ref)
    throw invalidPayload(
      `${where}: row ${n} names its dataflow ${JSON.stringify(refText)}, expected AGENCY:ID(VERSION)`,
    );
  if (ref.agency !== p.agency || ref.id !== p.dataflow) throw fail(refText);
}

/**
 * The observations of an SDMX-CSV body, one record per row, while it streams. The header is checked as
 * soon as it is read (also when no row follows); a row shorter than the header is a cut-off body.
 */
export async function* sdmxCsvRecords(
  bytes: AsyncIterable<Buffer>,
  p: SdmxParams,
  where: string,
): AsyncGenerator<SdmxRecord> {
  let header: Header | undefined;
  const columns = (names: string[]) => {
    header = readHeader(names, where);
    return header.columns;
  };
  let n = 0;
  for await (const row of csvTable(bytes, { where, header: columns })) {
    n++;
    const h = header!;
    const attributes: Record<string, string> = {};
    for (const a of h.attributes) {
      const value = row[a] ?? '';
      if (value.trim() !== '') attributes[a] = value;
    }
    const record: SdmxRecord = {
      dimensions: h.dimensions.map((d) => [d, row[d] ?? '']),
      period: row.TIME_PERIOD ?? '',
      value: row.OBS_VALUE ?? null,
      attributes,
    };
    checkDataflow(h, row, p, record, where, n);
    checkAgainstKey(record, p, where, n);
    yield record;
  }
}
