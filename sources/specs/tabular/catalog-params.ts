// Default params of the catalog's file and feed sources: the column mapping and row schema a file of
// each domain is expected to have. catalog/sources.yaml writes them out for its tabular_file sources (and
// test/unit/catalog.test.ts checks that it does); operators then adapt them there to the files they receive. Long format (one value per
// row, the measure named in an "indicator" column) for statistics; one row per entity for registers.
// No format: it is inferred per file (.csv, .json, .xlsx), so a team can send either CSV or XLSX.
import type { z } from 'zod';
import type { TabularParamsSchema } from './params';

export type TabularParamsInput = z.input<typeof TabularParamsSchema>;

/** Statistics in long format: one row per indicator, series dimensions and period. */
const longFormat = (dimensions: Record<string, 'string'>, period: string, extra: Record<string, string> = {}) => ({
  columns: {
    seriesKey: ['indicator', ...Object.keys(dimensions)],
    period,
    value: 'value',
    unit: 'unit',
    attributes: Object.keys(extra),
  },
  rowSchema: { indicator: 'string', ...dimensions, [period]: 'string', value: 'number?', unit: 'string?', ...extra },
});

export const TABULAR_CATALOG_PARAMS: Record<string, TabularParamsInput> = {
  // Agricultural campaign surveys: e.g. "production_t", Zou / Bohicon / maize, campaign "2023-2024".
  agriculture_local_surveys: longFormat({ commune: 'string', crop: 'string' }, 'campaign', {
    department: 'string?',
    survey: 'string?',
  }),
  // Employment surveys: e.g. "employed_persons", Parakou / agriculture / F, period "2024-Q1".
  employment_local_surveys: longFormat({ commune: 'string', sector: 'string', sex: 'string' }, 'period', {
    survey: 'string?',
  }),
  // Quarterly sectoral releases: sector codes (ISIC), "2024-Q1" quarters.
  employment_sectoral_stats: longFormat({ sector: 'string', sex: 'string' }, 'quarter'),
  business_sectoral_stats: longFormat({ sector: 'string' }, 'quarter'),
  // The parcel register: one row per parcel, its area as the value.
  cadastre: {
    columns: {
      seriesKey: ['parcel_id'],
      period: 'registered_on',
      value: 'area_m2',
      unit: { constant: 'm2' },
      attributes: ['commune', 'land_use', 'title_type'],
    },
    rowSchema: {
      parcel_id: 'string',
      commune: 'string',
      area_m2: 'number',
      registered_on: 'date',
      land_use: 'string?',
      title_type: 'string?',
    },
  },
  // Listing feeds: one row per listing, its asking price as the value; a price change is an update.
  property_listings: {
    columns: {
      seriesKey: ['listing_id'],
      period: 'listed_on',
      value: 'price',
      unit: 'currency',
      attributes: ['commune', 'property_type', 'transaction', 'surface_m2', 'bedrooms'],
    },
    rowSchema: {
      listing_id: 'string',
      listed_on: 'date',
      commune: 'string',
      property_type: 'string',
      transaction: 'string',
      price: 'number?',
      currency: 'string?',
      surface_m2: 'number?',
      bedrooms: 'integer?',
    },
  },
  // Official land values: a value per m2 per commune and zone, each year.
  land_values: {
    columns: {
      seriesKey: ['commune', 'zone'],
      period: 'year',
      value: 'value_per_m2',
      unit: { constant: 'XOF/m2' },
      attributes: ['land_use'],
    },
    rowSchema: { commune: 'string', zone: 'string', year: 'integer', value_per_m2: 'number?', land_use: 'string?' },
  },
  // The business register: one row per registered company, its share capital as the value.
  rccm: {
    columns: {
      seriesKey: ['rccm_number'],
      period: 'registered_on',
      value: 'share_capital',
      unit: { constant: 'XOF' },
      attributes: ['company_name', 'legal_form', 'city', 'sector', 'status'],
    },
    rowSchema: {
      rccm_number: 'string',
      company_name: 'string',
      legal_form: 'string',
      city: 'string',
      registered_on: 'date',
      sector: 'string?',
      share_capital: 'number?',
      status: 'string?',
    },
  },
};

/** What the catalog says about a feed source that has no feedUrl yet, and how an operator turns it on. */
export const FEED_SETUP_NOTE =
  'Inactive until a feed URL is configured: set data_sources.params.feedUrl (http(s):// or file:// URL of the ' +
  'CSV/JSON/XLSX feed) and is_active = true. Files can be imported meanwhile: npm run import -- <source> <file> --force.';

export function tabularCatalogParams(source: string): TabularParamsInput {
  const params = TABULAR_CATALOG_PARAMS[source];
  if (!params) throw new Error(`No default tabular_file params for catalog source "${source}"`);
  return params;
}
