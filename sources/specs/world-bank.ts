// World Bank Indicators API v2: a page-numbered JSON query per indicator for a ';'-joined country list, probed
// by each indicator's `lastupdated`. Quirks (docs, client libraries, recorded bodies): counts may be numeric
// strings; no data is page 0 of 0 with null records; a bad code is an error envelope with HTTP 200.
import { z } from 'zod';
import { invalidPayload } from '../../lib/failures';
import { decimalValue } from '../kit/decimal';
import { pagedJsonSource } from '../kit/paged-json-source';
import { wholeCount } from '../kit/paging';
import { boundedInt, codeList, codeListOr, sourceParams } from '../kit/params';
import { compactAttributes, recordLabel } from '../kit/records';
import { payloadOf, refuseOn } from '../kit/refusals';
import { seriesIdentity } from '../kit/series-key';

const POINT = String.raw`\d{4}(?:M(?:0[1-9]|1[0-2])|Q[1-4])?`; // 2012, 2012M01, 2012Q1
const INDICATOR = { of: 'indicator codes', example: 'AG.PRD.CROP.XD', pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/ };
const inOrder = (range: string) => range.startsWith('YTD') || range <= range.split(':').reverse().join(':');
const ISO = { of: 'ISO codes', example: 'BJ', pattern: /^[A-Za-z]{2,3}$/, upperCase: true };
export const WorldBankParamsSchema = sourceParams('World Bank', '{"indicators":["AG.PRD.CROP.XD"]}', {
  indicators: codeList('indicators', { ...INDICATOR, hint: 'a code is letters, digits and dots' }),
  countries: codeListOr('countries', { ...ISO, hint: 'use ISO 3166 alpha-2 or alpha-3 codes such as "BJ"' }, ['BJ']),
  dateRange: z
    .string({ error: 'dateRange must be a string such as "2000:2023"' })
    .regex(new RegExp(`^(?:${POINT}(?::${POINT})?|YTD:\\d{4})$`), 'dateRange must look like "2000:2023" or "2023"')
    .refine(inOrder, 'dateRange ends before it starts: write it as "from:to", e.g. "2000:2023"')
    .optional(),
  perPage: boundedInt('perPage', 1, 32500, 1000), // 32500: the largest page third-party docs claim works
});
export type WorldBankParams = z.output<typeof WorldBankParamsSchema>;
export type WorldBankRequest = Pick<WorldBankParams, 'countries' | 'dateRange'> & { indicator: string };
const query = (r: WorldBankRequest) =>
  `indicator ${r.indicator} (countries ${r.countries.join(';')}${r.dateRange ? `, date ${r.dateRange}` : ''})`;
const Meta = z.object({ page: wholeCount, pages: wholeCount, per_page: wholeCount, total: wholeCount });
const Stamps = { sourceid: z.union([z.string(), z.number()]).nullish(), lastupdated: z.iso.date().nullable() };
const Body = z.tuple([Meta.extend(Stamps), z.array(z.unknown()).nullable()]);
const Refusal = z.tuple([z.object({ message: z.array(z.record(z.string(), z.unknown())).min(1) })]);
const why = ([{ message }]: z.output<typeof Refusal>) =>
  `${message.map((m) => Object.values(m).join(' ')).join('; ')}. Check the codes in the data source params.`;
const Labelled = z.object({ id: z.string().min(1), value: z.string() });

/** One parsed body: the error envelope → SourceRejected, anything off the format → InvalidPayload. */
export function parseWorldBankPage(body: unknown, req: WorldBankRequest) {
  const what = `World Bank ${query(req)}`;
  refuseOn(Refusal, body, (e) => `World Bank rejected ${query(req)}: ${why(e)}`);
  const [meta, records] = payloadOf(Body, body, `${what}: not a v2 [metadata, records] body`);
  if (!records && meta.total > 0) throw invalidPayload(`${what}: [1] (records) is null, total ${meta.total}`);
  return { meta, records: records ?? [] };
}

export const worldBankConnector = pagedJsonSource({
  name: 'world-bank',
  params: WorldBankParamsSchema,
  queries: (p) => p.indicators.map((indicator) => ({ indicator, countries: p.countries, dateRange: p.dateRange })),
  describe: (q) => `World Bank ${query(q)}`,
  key: (q) => ({ indicator: q.indicator }),
  url: (ctx, q, page, size) =>
    `${ctx.baseUrl.replace(/\/+$/, '')}/country/${q.countries.map(encodeURIComponent).join(';')}/indicator/${encodeURIComponent(q.indicator)}` +
    `?format=json&per_page=${size}&page=${page}${q.dateRange ? `&date=${q.dateRange}` : ''}`,
  pageSize: (p) => p.perPage,
  readPage: parseWorldBankPage,
  stamp: { name: 'lastupdated', of: (meta) => meta.lastupdated },
  // One one-record page per indicator: probed at every master tick.
  cheapProbe: true,
  record: {
    schema: z.object({
      indicator: Labelled,
      country: Labelled,
      countryiso3code: z.string().nullish(), // "" for some aggregates: the key falls back to country.id
      date: z.string().min(1),
      value: decimalValue('expected a number, a numeric string or null'),
      unit: z.string().nullish(),
      obs_status: z.string().nullish(),
      decimal: z.union([z.number(), z.string()]).nullish(),
    }),
    label: (raw) => `World Bank record ${recordLabel(raw, ['indicator.id', 'countryiso3code', 'date'])}`,
    rows: (r) => {
      const series = seriesIdentity({ indicator: r.indicator.id, country: r.countryiso3code || r.country.id });
      const labels = { ...r, indicator: r.indicator.value, country: r.country.value };
      const attributes = compactAttributes(labels, ['indicator', 'country', 'obs_status', 'decimal']);
      return [{ ...series, period: r.date, value: r.value, unit: r.unit || null, attributes }];
    },
  },
});
