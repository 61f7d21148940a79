// Series identity: one rule for every source. A spec declares the dimensions a series is identified by,
// in order (e.g. indicator, country); the series key is a fixed prefix (the dataset or domain, when the
// source has several) followed by the dimension values, joined by "|"; the named dimensions are stored
// with the series (series.dimensions) so consumers filter by name. A value holding "|" would make two
// series share one key, so it is a rejected row, never a silent merge.
import { RowRejected } from './types';

export interface SeriesIdentity {
  seriesKey: string;
  dimensions: Record<string, string>;
}

export interface SeriesKeyOptions {
  /**
   * Dimensions written "<name>:<value>" in the key: optional trailing ones (a breakdown only some rows
   * have), which a bare position could not tell apart, e.g. UN Comtrade's "…|mot:2100|customs:C00".
   */
  tagged?: readonly string[];
}

/**
 * The key and named dimensions of a series from its dimensions in declared order: pairs, or an object whose
 * keys are in that order (names are identifiers, so JavaScript keeps their order).
 */
export function seriesIdentity(
  named: ReadonlyArray<readonly [name: string, value: string]> | Readonly<Record<string, string>>,
  prefix: readonly string[] = [],
  options: SeriesKeyOptions = {},
): SeriesIdentity {
  // Called once per row of multi-million-row files: one plain loop, no closures or intermediate arrays.
  const pairs = Array.isArray(named) ? named : Object.entries(named);
  const tagged = options.tagged;
  const dimensions: Record<string, string> = {};
  let seriesKey = prefix.join('|');
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    if (value.includes('|'))
      throw new RowRejected(`dimension ${name} is ${JSON.stringify(value)}: "|" separates key parts`);
    dimensions[name] = value;
    const part = tagged?.includes(name) ? `${name}:${value}` : value;
    seriesKey = seriesKey === '' && prefix.length === 0 && i === 0 ? part : `${seriesKey}|${part}`;
  }
  return { seriesKey, dimensions };
}
