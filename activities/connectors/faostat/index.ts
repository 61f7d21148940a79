// FAOSTAT (FAO's statistics; QCL = crops and livestock production). Two routes, chosen by params.route:
//  - "bulk" (default, keyless): probe = the domain's DateUpdate|FileRows|FileSize in the bulk catalogue;
//    fetch = the domain's normalized zip, streamed through a temporary file (see bulk.ts);
//  - "api" (needs a FAOSTAT account): probe = the domain's date_update; fetch = /en/data/{domain} as JSON.
// Both yield records with the same columns, transformed by one schema into
// seriesKey "<domain>|<area code>|<item code>|<element code>", period = the year.
import type { Connector } from '../types';
import { fetchApi, probeApi } from './api';
import { fetchBulk, probeBulk } from './bulk';
import { type FaostatParams, FaostatParamsSchema } from './params';
import { transformFaostatRecord } from './transform';

export { type FaostatParams, FaostatParamsSchema, resolveSourceUrl } from './params';
export { transformFaostatRecord } from './transform';

export const faostatConnector: Connector<FaostatParams, unknown> = {
  name: 'faostat',
  paramsSchema: FaostatParamsSchema,
  probe: (ctx) => (ctx.params.route === 'api' ? probeApi(ctx) : probeBulk(ctx)),
  fetch: (ctx) => (ctx.params.route === 'api' ? fetchApi(ctx) : fetchBulk(ctx)),
  transform: (raw, params) => transformFaostatRecord(raw, params),
};
