// CSV rows through the shared streaming parser: quoted fields, BOM, any one-character delimiter, the
// source's encoding. Lines whose cells are all empty (spreadsheet exports end with ",,,,") are no rows.
import { csvRecords } from '../../../kit/csv';
import { checkHeader, pickCells, type Reader } from './row';

export const readCsv: Reader = async function* (bytes, { params, columns }) {
  let headerChecked = false;
  const records = csvRecords(bytes, {
    encoding: params.encoding,
    delimiter: params.delimiter,
    parser: {
      skip_records_with_empty_values: true,
      // The header is only visible to the parser; it is checked with the first record. The context carries
      // the parsed header at run time (csv-parse's typings list it on the info callback only).
      on_record: (record, context) => {
        const header = (context as unknown as { columns?: unknown }).columns;
        if (!headerChecked && Array.isArray(header)) {
          checkHeader(
            header.map((c: { name?: unknown }) => String(c?.name ?? '')),
            columns,
            params,
          );
          headerChecked = true;
        }
        return record;
      },
    },
  });
  for await (const record of records) yield { values: pickCells(columns, (c) => record[c]) };
};
