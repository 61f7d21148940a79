// FAOSTAT connector params. Two routes read the same domain (QCL by default): the keyless bulk zip
// (default) and the account-only JSON API. Both filter on the same area codes.
import { z } from 'zod';
import { EncodingParam } from '../../kit/encoding';
import { codeListOr, sourceParams } from '../../kit/params';

export const DEFAULT_BULK_CATALOG_URL = 'https://bulks-faostat.fao.org/production/datasets_E.json';

const DATASET_CODE = /^[A-Z][A-Z0-9]{1,7}$/;
/** An absolute http(s) URL, or a path resolved against the source's base URL (see `resolveSourceUrl`). */
const URL_OR_PATH = /^(?:https?:\/\/\S+|[^\s:]+)$/i;

/** FAO area codes ("53" = Benin) or M49 codes with the apostrophe the bulk files write ("'204"). */
const AREAS = {
  of: 'area codes',
  example: '53',
  pattern: /^(?:\d{1,5}|'\d{1,5})$/,
  hint: 'use FAO area codes such as "53" (Benin) or M49 codes written "\'204"',
  emptyMeans: 'every area',
};

const urlOrPath = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .regex(URL_OR_PATH, `${name} must be an http(s) URL or a path relative to the source's base URL`);

export const FaostatParamsSchema = sourceParams('FAOSTAT', '{"areas":["53"]}', {
  route: z
    .enum(['bulk', 'api'], {
      error: 'route must be "bulk" (keyless zip download, default) or "api" (needs a FAOSTAT account)',
    })
    .default('bulk'),
  datasetCode: z
    .string({ error: 'datasetCode must be a string such as "QCL"' })
    .trim()
    .regex(DATASET_CODE, 'datasetCode is a FAOSTAT domain code in capitals, such as "QCL"')
    .default('QCL'),
  areas: codeListOr('areas', AREAS, ['53']),
  bulkCatalogUrl: urlOrPath('bulkCatalogUrl').default(DEFAULT_BULK_CATALOG_URL),
  /** Overrides the catalogue's FileLocation (e.g. a mirror); the catalogue still gives the probe token. */
  zipUrl: urlOrPath('zipUrl').optional(),
  /** The bulk CSV's encoding if it is not UTF-8 (sources/kit/encoding.ts); UTF-8 and BOMs are detected. */
  encoding: EncodingParam.optional(),
}).superRefine((params, ctx) => {
  // The API reads its `area` filter as FAO codes only (area_cs sets the output code system, not the input).
  if (params.route === 'api' && params.areas.some((a) => a.startsWith("'"))) {
    ctx.addIssue({
      code: 'custom',
      path: ['areas'],
      message: 'the api route takes FAO area codes only (e.g. "53"); M49 codes such as "\'204" work on the bulk route',
    });
  }
});
export type FaostatParams = z.output<typeof FaostatParamsSchema>;

/**
 * Absolute URLs are used as they are; a relative path is read under the source's base URL, so that one
 * config change (DataSourceConfig.baseUrl) moves every request of the source, e.g. to a mirror or a test
 * fixture: bulkCatalogUrl "bulk/datasets_E.json" with base "http://host/faostat" is
 * "http://host/faostat/bulk/datasets_E.json".
 */
export function resolveSourceUrl(baseUrl: string, urlOrPath: string): string {
  if (/^https?:\/\//i.test(urlOrPath)) return urlOrPath;
  return `${baseUrl.replace(/\/+$/, '')}/${urlOrPath.replace(/^\/+/, '')}`;
}

/** "53, '204" for messages; "every area" when the filter is off. */
export function describeAreas(areas: readonly string[]): string {
  return areas.length === 0 ? 'every area' : `areas ${areas.join(', ')}`;
}
