// FAOSTAT (FAO's statistics; QCL = crops and livestock production). Two routes, chosen by params.route:
//  - "bulk" (default, keyless): probe = the domain's DateUpdate|FileRows|FileSize in the bulk catalogue;
//    fetch = the domain's normalized zip, streamed through a temporary file (see bulk.ts);
//  - "api" (needs a FAOSTAT account, logged in by the HTTP client as the source's configuration says: auth_type
//    bearer with bearer_login_url): probe = the domain's date_update; fetch = /en/data/{domain} as JSON.
// Both yield records with the same columns, transformed by one schema into
// seriesKey "<domain>|<area code>|<item code>|<element code>", period = the year.
import { defineSource } from '../../kit/define-source';
import type { CredentialRule } from '../../kit/http/auth';
import type { Connector } from '../../kit/types';
import { fetchApi, probeApi } from './api';
import { fetchBulk, probeBulk } from './bulk';
import { describeAreas, type FaostatParams, FaostatParamsSchema } from './params';
import { type FaostatRecord, faostatRecord } from './transform';

export { type FaostatParams, FaostatParamsSchema, resolveSourceUrl } from './params';

const faostatSource = defineSource<FaostatParams, FaostatRecord>({
  name: 'faostat',
  params: FaostatParamsSchema,
  probe: (ctx) => (ctx.params.route === 'api' ? probeApi(ctx) : probeBulk(ctx)),
  fetch: (ctx) => (ctx.params.route === 'api' ? fetchApi(ctx) : fetchBulk(ctx)),
  record: faostatRecord,
  snapshot: {
    // FAOSTAT answers a wrong filter with zero rows rather than an error.
    emptyHint: (params) =>
      `FAOSTAT ${params.datasetCode} has no rows for ${describeAreas(params.areas)}: check params.areas (FAO area ` +
      `codes such as "53" for Benin, or M49 codes written "'204"; [] takes every area)`,
  },
});

export const faostatConnector: Connector<FaostatParams, unknown> & CredentialRule<FaostatParams> = {
  ...faostatSource,
  // The bulk route is keyless: an account is needed (and its absence a configuration error) only for "api".
  credentialOptional: (params) => params.route === 'bulk',
};

/** One raw record's observations (the rule reads only params.datasetCode). */
export const transformFaostatRecord = (raw: unknown, params: Pick<FaostatParams, 'datasetCode'>) =>
  faostatConnector.transform(raw, params as FaostatParams);
