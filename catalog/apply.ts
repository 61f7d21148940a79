// Writes validated catalog entries into the database, idempotently (the rules of the former
// prisma/catalog.ts): descriptive fields follow the file on every load, while what operators own
// (configuration once created, API keys, schedule state, breakers) is never overwritten.
//
// Per source, every load:
//   data_sources         title, url, organization, vertical, connector, update_frequency, note: the file's;
//                        probe_every_tick: the connector spec's (cheapProbe).
//                        params, is_active: set when the source is created; afterwards see ownedState.
//   data_source_configs  created once (base_url, the auth columns, rate_limit_per_second); never updated.
//   datasets             created once per slug; title and vertical follow the file.
//   dataset_versions     created once per (dataset, version), check_enabled; never updated.
// A source, dataset or version the file no longer lists is left as it is.
import { isDeepStrictEqual } from 'node:util';
import type { PrismaClient } from '../lib/db';
import { connectorNames, getConnector } from '../sources';
import type { CatalogEntry } from './schema';

type Owned = { isActive: boolean; params: object };

export interface ApplyResult {
  sources: number;
  /** File changes not applied because the database's value was changed there; also passed to `warn`. */
  notices: string[];
}

export async function applyCatalog(
  prisma: PrismaClient,
  entries: readonly CatalogEntry[],
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<ApplyResult> {
  const notices: string[] = [];
  // One transaction: a database error half-way leaves the catalog as it was.
  await prisma.$transaction(
    async (tx) => {
      for (const e of entries) {
        const descriptive = {
          title: e.title,
          url: e.url,
          organization: e.organization,
          vertical: e.vertical,
          connector: e.connector,
          updateFrequency: e.frequency,
          note: e.note ?? null,
          probeEveryTick: probesEveryTick(e.connector),
        };
        const wanted: Owned = { isActive: e.implemented && e.active !== false, params: e.params };
        const existing = await tx.dataSource.findUnique({ where: { name: e.name } });
        let owned: Partial<Owned> = {};
        if (existing) {
          const state = ownedState(existing, e, wanted);
          owned = state.update;
          notices.push(...state.notices);
        }
        const source = existing
          ? await tx.dataSource.update({
              where: { id: existing.id },
              data: { ...descriptive, ...owned, catalogApplied: wanted },
            })
          : await tx.dataSource.create({ data: { name: e.name, ...descriptive, ...wanted, catalogApplied: wanted } });
        await tx.dataSourceConfig.upsert({
          where: { dataSourceId: source.id },
          create: {
            dataSourceId: source.id,
            baseUrl: e.baseUrl,
            authType: e.authType ?? 'none',
            apiKeyParam: e.apiKeyParam ?? null,
            apiKeyIn: e.apiKeyIn ?? 'header',
            bearerLoginUrl: e.bearerLoginUrl ?? null,
            rateLimitPerSecond: e.rateLimitPerSecond ?? 1,
          },
          update: {},
        });
        for (const d of e.datasets) {
          const dataset = await tx.dataset.upsert({
            where: { slug: d.slug },
            create: { slug: d.slug, title: d.title, vertical: e.vertical, dataSourceId: source.id },
            update: { title: d.title, vertical: e.vertical },
          });
          for (const version of d.versions) {
            await tx.datasetVersion.upsert({
              where: { datasetId_version: { datasetId: dataset.id, version } },
              create: { datasetId: dataset.id, dataSourceId: source.id, version, checkEnabled: true },
              update: {},
            });
          }
        }
      }
    },
    { maxWait: 30_000, timeout: 120_000 },
  );
  for (const n of notices) warn(n);
  return { sources: entries.length, notices };
}

/**
 * What a catalog reload may change on an existing source. Params and the active flag belong to the
 * operator once set, with two exceptions: a source without a connector is always inactive, and a source
 * catalogued before its connector existed (params still `{}`) takes the connector's defaults and state.
 *
 * And since the catalog is a file operators edit: a value the file changed reaches a column that still
 * holds what the file said last time (data_sources.catalog_applied); a column changed in the database
 * since is kept, with a notice. A row loaded before catalog_applied existed keeps a value that differs
 * from the file's (it cannot tell whose it is).
 */
function ownedState(
  existing: { name: string; params: unknown; isActive: boolean; catalogApplied: unknown },
  e: CatalogEntry,
  wanted: Owned,
): { update: Partial<Owned>; notices: string[] } {
  if (!e.implemented) return { update: { isActive: false }, notices: [] };
  const neverConfigured =
    typeof existing.params === 'object' && existing.params !== null && Object.keys(existing.params).length === 0;
  if (neverConfigured) return { update: wanted, notices: [] };
  const last = lastApplied(existing.catalogApplied);
  const update: Partial<Owned> = {};
  const notices: string[] = [];
  const fields = [
    ['params', 'params', existing.params],
    ['isActive', 'is_active', existing.isActive],
  ] as const;
  for (const [field, column, current] of fields) {
    if (isDeepStrictEqual(current, wanted[field])) continue;
    if (last && isDeepStrictEqual(current, last[field])) {
      Object.assign(update, { [field]: wanted[field] });
    } else if (!last || !isDeepStrictEqual(last[field], wanted[field])) {
      notices.push(
        `catalog: ${existing.name}: the file's ${field === 'params' ? 'params' : 'active'} value is not applied: ` +
          `data_sources.${column} was changed in the database, and that value is kept ` +
          `(${JSON.stringify(current)}; the file says ${JSON.stringify(wanted[field])}). To let the file decide, ` +
          `set data_sources.params to '{}' for ${existing.name} and load the catalog again (npm start or npm run migrate).`,
      );
    }
  }
  return { update, notices };
}

function lastApplied(value: unknown): Owned | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Partial<Owned>;
  return typeof v.isActive === 'boolean' && typeof v.params === 'object' && v.params !== null
    ? { isActive: v.isActive, params: v.params }
    : null;
}

/** A connector whose spec declares its probe cheap is probed at every master tick (sources/kit/types.ts). */
export function probesEveryTick(connector: string): boolean {
  return connectorNames().includes(connector) && getConnector(connector).cheapProbe === true;
}
