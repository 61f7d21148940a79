// The synthetic QCL bulk file every FAOSTAT benchmark uses: the real columns (every field quoted, CRLF),
// 250 areas (FAO 53 = Benin among them), 200 items, 3 elements, 63 years; (area, item, element, year) is
// unique up to 9.45 M rows. One generator, so the benches measure the same data.
import { csvLine, FAOSTAT_COLUMNS } from '../fixtures/faostat';

const ELEMENTS = [
  ['5312', 'Area harvested', 'ha'],
  ['5412', 'Yield', '100 g/ha'],
  ['5510', 'Production', 't'],
] as const;

/** Row i's value: empty every 97th row (no value published), else a deterministic number. */
export function qclValue(i: number): string {
  return i % 97 === 0 ? '' : String(((i * 7919) % 10_000_000) / 10);
}

export interface QclOptions {
  /** The value of row i (default qclValue). */
  value?: (i: number) => string;
  /** Rows to leave out. */
  skip?: (i: number) => boolean;
}

/** N rows of the synthetic QCL CSV, header first, in ~64 KB UTF-8 chunks. */
export function* qclCsv(n: number, opts: QclOptions = {}): Generator<Buffer> {
  const value = opts.value ?? qclValue;
  let batch = csvLine(FAOSTAT_COLUMNS);
  for (let i = 0; i < n; i++) {
    if (opts.skip?.(i)) continue;
    const area = 1 + (i % 250);
    const item = 15 + (Math.floor(i / 250) % 200);
    const [elementCode, element, unit] = ELEMENTS[Math.floor(i / 50_000) % 3]!;
    const year = String(1961 + (Math.floor(i / 150_000) % 63));
    batch += csvLine([
      String(area),
      `'${String(area).padStart(3, '0')}`,
      area === 53 ? 'Benin' : `Région ${area}`,
      String(item),
      `'0${item}`,
      `Item ${item}`,
      elementCode,
      element,
      year,
      year,
      unit,
      value(i),
      i % 13 === 0 ? 'E' : 'A',
      '',
    ]);
    if (batch.length > 64 * 1024) {
      yield Buffer.from(batch, 'utf8');
      batch = '';
    }
  }
  yield Buffer.from(batch, 'utf8');
}
