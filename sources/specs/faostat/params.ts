// FAOSTAT connector params. Two routes read the same domain (QCL by default): the keyless bulk zip
// (default) and the account-only JSON API. Both filter on the same area codes.
import { z } from 'zod';
import { EncodingParam } from '../../kit/encoding';

export const DEFAULT_BULK_CATALOG_URL = 'https://bulks-faostat.fao.org/production/datasets_E.json';

/** An FAO area code ("53" = Benin) or an M49 code with the apostrophe the bulk files write ("'204"). */
const AREA_CODE = /^(?:\d{1,5}|'\d{1,5})$/;
const DATASET_CODE = /^[A-Z][A-Z0-9]{1,7}$/;
/** An absolute http(s) URL, or a path resolved against the source's base URL (see `resolveSourceUrl`). */
const URL_OR_PATH = /^(?:https?:\/\/\S+|[^\s:]+)$/i;
const PARAM_NAMES = 'route, datasetCode, areas, bulkCatalogUrl, zipUrl, encoding';

const noDuplicates = (values: string[]) => new Set(values).size === values.length;

const urlOrPath = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .regex(URL_OR_PATH, `${name} must be an http(s) URL or a path relative to the source's base URL`);

export const FaostatParamsSchema = z
  .strictObject(
    {
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
      areas: z
        .array(
          z
            .string({ error: 'areas: every entry must be a string such as "53" or "\'204"' })
            .trim()
            .regex(AREA_CODE, 'areas: use FAO area codes such as "53" (Benin) or M49 codes written "\'204"'),
          { error: 'areas must be a list of area codes, e.g. ["53"]; [] means every area' },
        )
        .refine(noDuplicates, 'areas lists a code twice: remove the duplicate')
        .default(['53']),
      bulkCatalogUrl: urlOrPath('bulkCatalogUrl').default(DEFAULT_BULK_CATALOG_URL),
      /** Overrides the catalogue's FileLocation (e.g. a mirror); the catalogue still gives the probe token. */
      zipUrl: urlOrPath('zipUrl').optional(),
      /** The bulk CSV's encoding if it is not UTF-8 (sources/kit/encoding.ts); UTF-8 and BOMs are detected. */
      encoding: EncodingParam.optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown parameter ${issue.keys.join(', ')}: the FAOSTAT connector takes ${PARAM_NAMES}`
          : `params must be an object with ${PARAM_NAMES}, e.g. {"areas":["53"]}`,
    },
  )
  .superRefine((params, ctx) => {
    // The API reads its `area` filter as FAO codes only (area_cs sets the output code system, not the input).
    if (params.route === 'api' && params.areas.some((a) => a.startsWith("'"))) {
      ctx.addIssue({
        code: 'custom',
        path: ['areas'],
        message:
          'the api route takes FAO area codes only (e.g. "53"); M49 codes such as "\'204" work on the bulk route',
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
