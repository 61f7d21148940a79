// The source catalog: every source of the seed's frequency table, with its cadence and connector.
// Loaded idempotently at start-up: descriptive fields follow this file, while what operators own
// (configuration once created, API keys, schedule state, breakers) is never overwritten.
//
// `implemented: false` marks a source whose connector does not exist yet: it is catalogued INACTIVE so
// the master never schedules it, and the README's source table says "not yet" for it.

import type { AppConfig } from '../lib/config';
import type { PrismaClient } from '../lib/db';
import type { Frequency } from '../lib/scheduling/frequency';
import type { Vertical } from '../lib/verticals';
import { ComtradeParamsSchema } from '../sources/specs/comtrade';
import { FaostatParamsSchema } from '../sources/specs/faostat';
import { ModisNdviParamsSchema } from '../sources/specs/modis-ndvi';
import { DEFAULT_OVERPASS_PARAMS } from '../sources/specs/overpass/params';
import { SdmxParamsSchema } from '../sources/specs/sdmx/params';
import { FEED_SETUP_NOTE, tabularCatalogParams } from '../sources/specs/tabular/catalog-params';
import { UNIDO_IMPORT_HELP, UnidoParamsSchema } from '../sources/specs/unido';

export interface CatalogEntry {
  name: string;
  title: string;
  url: string;
  organization: string;
  vertical: Vertical;
  connector: string;
  frequency: Frequency;
  rationale: string;
  implemented: boolean;
  params: Record<string, unknown>;
  baseUrl: string;
  rateLimitPerSecond?: number;
  authType?: 'none' | 'api_key' | 'bearer' | 'basic';
  /** Whether the source is created active (default: when implemented); false while it needs operator setup. */
  active?: boolean;
  /** What an operator should know about the entry, e.g. what to configure to activate it (not stored). */
  note?: string;
}

export interface CatalogSettings {
  worldBankBaseUrl: string;
  worldBankCountries: string[];
}

/** The catalog settings the environment gives (TEDI_WORLD_BANK_BASE_URL, TEDI_WB_COUNTRIES). */
export function catalogSettings(
  config: Pick<AppConfig, 'TEDI_WORLD_BANK_BASE_URL' | 'TEDI_WB_COUNTRIES'>,
): CatalogSettings {
  return {
    worldBankBaseUrl: config.TEDI_WORLD_BANK_BASE_URL,
    worldBankCountries: config.TEDI_WB_COUNTRIES.split(';').map((c) => c.toUpperCase()),
  };
}

const WB = { organization: 'World Bank', url: 'https://data.worldbank.org/', connector: 'world-bank' } as const;

export function catalog(s: CatalogSettings): CatalogEntry[] {
  const wb = (name: string, vertical: Vertical, title: string, indicators: string[]): CatalogEntry => ({
    ...WB,
    name,
    title,
    vertical,
    frequency: 'annual',
    rationale: 'WDI updates yearly',
    implemented: true,
    params: { indicators, countries: s.worldBankCountries },
    baseUrl: s.worldBankBaseUrl,
    rateLimitPerSecond: 1,
  });
  const pending = (
    e: Omit<CatalogEntry, 'implemented' | 'params' | 'baseUrl'> & { baseUrl?: string },
  ): CatalogEntry => ({ ...e, implemented: false, params: {}, baseUrl: e.baseUrl ?? e.url });
  // File and feed sources (tabular_file), with their default column mapping. On-event ones are active (the
  // master never schedules them); a feed source without params.feedUrl is created inactive, or every
  // scheduled check would fail and open its breaker.
  const tabular = (e: Parameters<typeof pending>[0]): CatalogEntry => {
    const params = tabularCatalogParams(e.name);
    const waitsForFeed = e.frequency !== 'on_event' && !params.feedUrl;
    return {
      ...e,
      implemented: true,
      params,
      baseUrl: e.baseUrl ?? e.url,
      ...(waitsForFeed ? { active: false, note: FEED_SETUP_NOTE } : {}),
    };
  };
  return [
    // Agriculture
    {
      name: 'faostat',
      title: 'FAOSTAT crops and livestock production (QCL)',
      url: 'https://www.fao.org/faostat/',
      organization: 'Food and Agriculture Organization',
      vertical: 'agriculture',
      connector: 'faostat',
      frequency: 'quarterly',
      rationale: 'updates 1-2x per year',
      implemented: true,
      // Every default written out (bulk route, QCL, Benin = FAO area 53, the bulk catalogue URL), so operators
      // see what they can change. The API base stays the config's baseUrl, for the account-only api route.
      params: FaostatParamsSchema.parse({}),
      baseUrl: 'https://faostatservices.fao.org/api/v1',
    },
    wb('world_bank_agriculture', 'agriculture', 'World Bank agriculture indicators', [
      'AG.PRD.CROP.XD',
      'AG.LND.ARBL.ZS',
      'NV.AGR.TOTL.ZS',
    ]),
    {
      name: 'satellite_ndvi',
      title: 'Satellite NDVI, monthly mean per area (MODIS via ORNL DAAC)',
      url: 'https://modis.ornl.gov/',
      organization: 'ORNL DAAC / NASA',
      vertical: 'agriculture',
      connector: 'modis_ndvi',
      frequency: 'monthly',
      rationale: 'aggregate monthly data',
      implemented: true,
      // MOD13Q1 NDVI, 12 months, three areas of two sample points across Benin, 1 km around each point.
      params: ModisNdviParamsSchema.parse({}),
      baseUrl: 'https://modis.ornl.gov/rst/api/v1',
      // ORNL asks for gentle use (clients space calls 1-2 s apart); a full run is about 20 calls.
      rateLimitPerSecond: 0.5,
    },
    tabular({
      name: 'agriculture_local_surveys',
      title: 'Local agricultural surveys',
      url: 'file://',
      organization: 'Local survey teams',
      vertical: 'agriculture',
      connector: 'tabular_file',
      frequency: 'on_event',
      rationale: 'manual trigger',
    }),
    // Real estate
    {
      name: 'openstreetmap',
      title: 'OpenStreetMap buildings and infrastructure (Overpass)',
      url: 'https://www.openstreetmap.org/',
      organization: 'OpenStreetMap Foundation',
      vertical: 'realestate',
      connector: 'osm_overpass',
      frequency: 'monthly',
      rationale: 'active community updates',
      implemented: true,
      params: { ...DEFAULT_OVERPASS_PARAMS },
      baseUrl: 'https://overpass-api.de/api',
      // Overpass fair use is ~10,000 requests and ~1 GB a day per user: one tile every 2 s stays well inside.
      rateLimitPerSecond: 0.5,
    },
    tabular({
      name: 'cadastre',
      title: 'Cadastre parcels',
      url: 'file://',
      organization: 'National land agency',
      vertical: 'realestate',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'official updates are periodic',
    }),
    tabular({
      name: 'property_listings',
      title: 'Property listings (price monitoring)',
      url: 'file://',
      organization: 'Listing feeds',
      vertical: 'realestate',
      connector: 'tabular_file',
      frequency: 'weekly',
      rationale: 'price monitoring',
    }),
    tabular({
      name: 'land_values',
      title: 'Land values',
      url: 'file://',
      organization: 'National land agency',
      vertical: 'realestate',
      connector: 'tabular_file',
      frequency: 'annual',
      rationale: 'official valuations are yearly',
    }),
    // Employment
    {
      name: 'ilostat',
      title: 'ILOSTAT labour statistics',
      url: 'https://ilostat.ilo.org/',
      organization: 'International Labour Organization',
      vertical: 'employment',
      connector: 'ilostat',
      frequency: 'semi_annual',
      rationale: 'annual data, checked semi-annually',
      implemented: true,
      params: { indicators: ['UNE_DEAP_SEX_AGE_RT_A', 'EMP_TEMP_SEX_ECO_NB_A'], refAreas: ['BEN'] },
      baseUrl: 'https://rplumber.ilo.org',
    },
    {
      name: 'ilo_sdmx',
      title: 'ILOSTAT unemployment rate by sex and age (SDMX)',
      url: 'https://ilostat.ilo.org/data/sdmx-query-builder/',
      organization: 'International Labour Organization',
      vertical: 'employment',
      connector: 'sdmx',
      frequency: 'semi_annual',
      rationale: 'annual data, checked semi-annually (the dataflow LAST_UPDATE makes a check one small GET)',
      implemented: true,
      // Benin, every sex, age band and year: REF_AREA.FREQ.MEASURE.SEX.AGE with all but REF_AREA open.
      // SDMX-CSV: ILO's SDMX-JSON leaves the unit attributes unreferenced; the CSV carries them on every row.
      params: SdmxParamsSchema.parse({
        agency: 'ILO',
        dataflow: 'DF_UNE_DEAP_SEX_AGE_RT',
        version: '1.0',
        key: 'BEN....',
        format: 'csv',
      }),
      baseUrl: 'https://sdmx.ilo.org/rest',
    },
    wb('world_bank_employment', 'employment', 'World Bank employment indicators', [
      'SL.UEM.TOTL.ZS',
      'SL.AGR.EMPL.ZS',
      'SL.TLF.CACT.ZS',
    ]),
    tabular({
      name: 'employment_local_surveys',
      title: 'Local employment surveys',
      url: 'file://',
      organization: 'Local survey teams',
      vertical: 'employment',
      connector: 'tabular_file',
      frequency: 'on_event',
      rationale: 'manual trigger',
    }),
    tabular({
      name: 'employment_sectoral_stats',
      title: 'Sectoral employment statistics',
      url: 'file://',
      organization: 'National statistics office',
      vertical: 'employment',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'quarterly releases',
    }),
    // Business
    tabular({
      name: 'rccm',
      title: 'RCCM business registry',
      url: 'file://',
      organization: 'Registre du Commerce et du Crédit Mobilier',
      vertical: 'business',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'official registry updates',
    }),
    wb('world_bank_business', 'business', 'World Bank business indicators', [
      'IC.BUS.NREG',
      'IC.REG.DURS',
      'NV.IND.MANF.ZS',
    ]),
    {
      name: 'unido',
      title: 'UNIDO INDSTAT industrial statistics',
      url: 'https://stat.unido.org/',
      organization: 'United Nations Industrial Development Organization',
      vertical: 'business',
      connector: 'unido_indstat',
      frequency: 'annual',
      rationale: 'industrial statistics',
      implemented: true,
      params: UnidoParamsSchema.parse({}),
      // The legacy REST API (/rest/dbdata), used only when an account is stored.
      baseUrl: 'https://stat.unido.org',
      authType: 'basic',
      // No public API: data comes from files operators import, so scheduled checks would only fail
      // until params.feedUrl (or an account) is configured.
      active: false,
      note: UNIDO_IMPORT_HELP,
    },
    tabular({
      name: 'business_sectoral_stats',
      title: 'Sectoral business statistics',
      url: 'file://',
      organization: 'National statistics office',
      vertical: 'business',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'quarterly releases',
    }),
    {
      name: 'ecb_sdmx',
      title: 'ECB euro foreign exchange reference rate, US dollar, monthly average (SDMX)',
      url: 'https://data.ecb.europa.eu/data/datasets/EXR',
      organization: 'European Central Bank',
      vertical: 'business',
      connector: 'sdmx',
      frequency: 'monthly',
      rationale: 'monthly averages, published early in the following month',
      implemented: true,
      // EXR M.USD.EUR.SP00.A: monthly, US dollar per euro, spot, average. The ECB's csvdata (KEY column).
      // Its structures carry no LAST_UPDATE: every check fetches this one small series, and the content
      // checksum decides whether anything changed.
      params: SdmxParamsSchema.parse({ agency: 'ECB', dataflow: 'EXR', key: 'M.USD.EUR.SP00.A', flavour: 'ecb' }),
      baseUrl: 'https://data-api.ecb.europa.eu/service',
    },
    {
      name: 'un_comtrade',
      title: 'UN Comtrade trade data',
      url: 'https://comtradeplus.un.org/',
      organization: 'United Nations Statistics Division',
      vertical: 'business',
      connector: 'un_comtrade',
      frequency: 'quarterly',
      rationale: 'quarterly releases',
      implemented: true,
      // Benin, exports and imports with the world, TOTAL, the last 3 complete years (no periods = rolling).
      params: ComtradeParamsSchema.parse({}),
      baseUrl: 'https://comtradeapi.un.org',
      authType: 'api_key',
      // The API throttles per minute (429/403 + Retry-After); comtradr spaces calls 6 s apart. A run is 4 calls.
      rateLimitPerSecond: 1 / 6,
      note: 'Without an API key the keyless preview is used: at most 500 rows per period, rows marked capped.',
    },
  ];
}

/** Each source gets one dataset and one scheduled version, "current", the first time it is loaded. */
export const DEFAULT_VERSION = 'current';

export async function loadCatalog(prisma: PrismaClient, settings: CatalogSettings): Promise<{ sources: number }> {
  const entries = catalog(settings);
  for (const e of entries) {
    const descriptive = {
      title: e.title,
      url: e.url,
      organization: e.organization,
      vertical: e.vertical,
      connector: e.connector,
      updateFrequency: e.frequency,
      note: e.note ?? null,
    };
    const wanted = { isActive: e.implemented && e.active !== false, params: e.params as object };
    const existing = await prisma.dataSource.findUnique({ where: { name: e.name } });
    const source = existing
      ? await prisma.dataSource.update({
          where: { id: existing.id },
          data: { ...descriptive, ...catalogOwnedState(existing, e, wanted) },
        })
      : await prisma.dataSource.create({ data: { name: e.name, ...descriptive, ...wanted } });
    await prisma.dataSourceConfig.upsert({
      where: { dataSourceId: source.id },
      create: {
        dataSourceId: source.id,
        baseUrl: e.baseUrl,
        authType: e.authType ?? 'none',
        rateLimitPerSecond: e.rateLimitPerSecond ?? 1,
      },
      update: {},
    });
    const dataset = await prisma.dataset.upsert({
      where: { slug: e.name },
      create: { slug: e.name, title: e.title, vertical: e.vertical, dataSourceId: source.id },
      update: { title: e.title, vertical: e.vertical },
    });
    await prisma.datasetVersion.upsert({
      where: { datasetId_version: { datasetId: dataset.id, version: DEFAULT_VERSION } },
      create: { datasetId: dataset.id, dataSourceId: source.id, version: DEFAULT_VERSION, checkEnabled: true },
      update: {},
    });
  }
  return { sources: entries.length };
}

/**
 * What a catalog reload may change on an existing source. Params and the active flag belong to the
 * operator once set, with two exceptions: a source without a connector is always inactive, and a source
 * catalogued before its connector existed (params still `{}`) takes the connector's defaults and state.
 */
function catalogOwnedState(
  existing: { params: unknown; isActive: boolean },
  e: CatalogEntry,
  wanted: { isActive: boolean; params: object },
): Partial<{ isActive: boolean; params: object }> {
  if (!e.implemented) return { isActive: false };
  const neverConfigured =
    typeof existing.params === 'object' && existing.params !== null && Object.keys(existing.params).length === 0;
  return neverConfigured ? wanted : {};
}
