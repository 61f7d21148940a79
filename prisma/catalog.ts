// The source catalog: every source of the seed's frequency table, with its cadence and connector.
// Loaded idempotently at start-up: descriptive fields follow this file, while what operators own
// (configuration once created, API keys, schedule state, breakers) is never overwritten.
//
// `implemented: false` marks a source whose connector does not exist yet: it is catalogued INACTIVE so
// the master never schedules it, and the README's source table says "not yet" for it.
import type { PrismaClient } from '../lib/db';
import type { Frequency } from '../lib/scheduling/frequency';
import type { Vertical } from '../lib/verticals';

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
}

export interface CatalogSettings {
  worldBankBaseUrl: string;
  worldBankCountries: string[];
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
  return [
    // Agriculture
    pending({
      name: 'faostat',
      title: 'FAOSTAT crops and livestock production (QCL)',
      url: 'https://www.fao.org/faostat/',
      organization: 'Food and Agriculture Organization',
      vertical: 'agriculture',
      connector: 'faostat',
      frequency: 'quarterly',
      rationale: 'updates 1-2x per year',
      baseUrl: 'https://faostatservices.fao.org/api/v1',
    }),
    wb('world_bank_agriculture', 'agriculture', 'World Bank agriculture indicators', [
      'AG.PRD.CROP.XD',
      'AG.LND.ARBL.ZS',
      'NV.AGR.TOTL.ZS',
    ]),
    pending({
      name: 'satellite_ndvi',
      title: 'Satellite NDVI, monthly mean per area (MODIS via ORNL DAAC)',
      url: 'https://modis.ornl.gov/',
      organization: 'ORNL DAAC / NASA',
      vertical: 'agriculture',
      connector: 'modis_ndvi',
      frequency: 'monthly',
      rationale: 'aggregate monthly data',
      baseUrl: 'https://modis.ornl.gov/rst/api/v1',
    }),
    pending({
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
    pending({
      name: 'openstreetmap',
      title: 'OpenStreetMap buildings and infrastructure (Overpass)',
      url: 'https://www.openstreetmap.org/',
      organization: 'OpenStreetMap Foundation',
      vertical: 'realestate',
      connector: 'osm_overpass',
      frequency: 'monthly',
      rationale: 'active community updates',
      baseUrl: 'https://overpass-api.de/api',
    }),
    pending({
      name: 'cadastre',
      title: 'Cadastre parcels',
      url: 'file://',
      organization: 'National land agency',
      vertical: 'realestate',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'official updates are periodic',
    }),
    pending({
      name: 'property_listings',
      title: 'Property listings (price monitoring)',
      url: 'file://',
      organization: 'Listing feeds',
      vertical: 'realestate',
      connector: 'tabular_file',
      frequency: 'weekly',
      rationale: 'price monitoring',
    }),
    pending({
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
    pending({
      name: 'ilostat',
      title: 'ILOSTAT labour statistics',
      url: 'https://ilostat.ilo.org/',
      organization: 'International Labour Organization',
      vertical: 'employment',
      connector: 'ilostat',
      frequency: 'semi_annual',
      rationale: 'annual data, checked semi-annually',
      baseUrl: 'https://rplumber.ilo.org',
    }),
    wb('world_bank_employment', 'employment', 'World Bank employment indicators', [
      'SL.UEM.TOTL.ZS',
      'SL.AGR.EMPL.ZS',
      'SL.TLF.CACT.ZS',
    ]),
    pending({
      name: 'employment_local_surveys',
      title: 'Local employment surveys',
      url: 'file://',
      organization: 'Local survey teams',
      vertical: 'employment',
      connector: 'tabular_file',
      frequency: 'on_event',
      rationale: 'manual trigger',
    }),
    pending({
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
    pending({
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
    pending({
      name: 'unido',
      title: 'UNIDO INDSTAT industrial statistics',
      url: 'https://stat.unido.org/',
      organization: 'United Nations Industrial Development Organization',
      vertical: 'business',
      connector: 'unido_indstat',
      frequency: 'annual',
      rationale: 'industrial statistics',
    }),
    pending({
      name: 'business_sectoral_stats',
      title: 'Sectoral business statistics',
      url: 'file://',
      organization: 'National statistics office',
      vertical: 'business',
      connector: 'tabular_file',
      frequency: 'quarterly',
      rationale: 'quarterly releases',
    }),
    pending({
      name: 'un_comtrade',
      title: 'UN Comtrade trade data',
      url: 'https://comtradeplus.un.org/',
      organization: 'United Nations Statistics Division',
      vertical: 'business',
      connector: 'un_comtrade',
      frequency: 'quarterly',
      rationale: 'quarterly releases',
      baseUrl: 'https://comtradeapi.un.org',
      authType: 'api_key',
    }),
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
    };
    const source = await prisma.dataSource.upsert({
      where: { name: e.name },
      create: { name: e.name, ...descriptive, isActive: e.implemented, params: e.params as object },
      // A source that gains a connector becomes active; one an operator deactivated stays as they left it.
      update: { ...descriptive, ...(e.implemented ? {} : { isActive: false }) },
    });
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
