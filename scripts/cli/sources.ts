// `tedi sources list|show`: the source catalog as stored, with what the catalog file adds (whether a
// connector exists, why the cadence is what it is). How each source authenticates (data_source_configs
// auth_type and its columns, sources/kit/http/auth.ts) is shown; secrets are never read back: both say
// only whether a credential is stored.
import type { Command } from 'commander';
import { z } from 'zod';
import type { CatalogEntry } from '../../catalog/load';
import type { AppConfig } from '../../lib/config';
import { describeAuthConfig } from '../../sources/kit/http/auth';
import { budgetHost } from '../../sources/kit/http/rate-budget';
import { findSource, jsonFlag, sourceName } from './args';
import { withDatabase } from './context';
import { validateArgs } from './errors';
import {
  formatCount,
  formatTime,
  JSON_HELP,
  printJson,
  printTable,
  renderFields,
  renderTable,
  terminalWidth,
  yesNo,
} from './output';
import { registerSourceSettings } from './sources-set';
import { VERSION_COLUMNS, type VersionStatus, versionStatuses } from './versions';

/** The catalog file's entries, for what the database does not keep (implemented, rationale). */
export async function catalogEntries(config: AppConfig): Promise<Map<string, CatalogEntry>> {
  // Loaded on use: it brings every connector (see context.ts).
  const { catalog, catalogSettings } = await import('../../catalog/load.js');
  const entries = catalog(catalogSettings(config));
  return new Map(entries.map((e) => [e.name, e]));
}

const ListArgs = z.object({ json: jsonFlag });
const ShowArgs = z.object({ source: sourceName, json: jsonFlag });

export function registerSources(program: Command): void {
  const sources = program.command('sources').description('the source catalog: what is ingested, from where, how often');

  sources
    .command('list')
    .description('list sources: name, vertical, frequency, active, connector, implemented, auth')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(ListArgs, opts);
      await withDatabase(async (db, config) => {
        const entries = await catalogEntries(config);
        const sources = await db.prisma.dataSource.findMany({
          include: { config: true },
          orderBy: [{ vertical: 'asc' }, { name: 'asc' }],
        });
        const rows = sources.map((s) => ({
          name: s.name,
          vertical: s.vertical,
          frequency: s.updateFrequency,
          active: s.isActive,
          connector: s.connector,
          // A row the catalog file no longer lists has no connector to run.
          implemented: entries.get(s.name)?.implemented ?? false,
          // How requests authenticate (null: no config row yet), and whether a credential is stored.
          auth: s.config?.authType ?? null,
          apiKey: s.config?.apiKeyEncrypted ? 'set' : 'not set',
        }));
        if (args.json) return printJson(rows);
        printTable(
          rows,
          [
            { header: 'NAME', value: (r) => r.name },
            { header: 'VERTICAL', value: (r) => r.vertical },
            { header: 'FREQUENCY', value: (r) => r.frequency },
            { header: 'ACTIVE', value: (r) => yesNo(r.active) },
            { header: 'CONNECTOR', value: (r) => r.connector },
            { header: 'IMPLEMENTED', value: (r) => (r.implemented ? 'yes' : 'not yet') },
            { header: 'AUTH', value: (r) => `${r.auth ?? '-'}${r.apiKey === 'set' ? ' (key set)' : ''}` },
          ],
          'No sources: start TEDI once (`npm start`) to load the catalog.',
        );
      });
    });

  sources
    .command('show')
    .description('one source: catalog row, configuration (without secrets) and its dataset versions')
    .argument('<source>', 'source name, e.g. world_bank_agriculture')
    .option('--json', JSON_HELP)
    .action(async (source, opts) => {
      const args = validateArgs(ShowArgs, { ...opts, source }, ['source']);
      await withDatabase(async (db, config) => {
        const s = await findSource(db, args.source);
        const entry = (await catalogEntries(config)).get(s.name);
        const versions = await versionStatuses(db, { dataSourceId: s.id });
        const datasets = await db.prisma.dataset.findMany({
          where: { dataSourceId: s.id },
          select: { slug: true, title: true },
          orderBy: { slug: 'asc' },
        });
        // The shared budget of the base URL's host (host_rate_limits), if it has one.
        let host: string | null = null;
        try {
          host = s.config ? budgetHost(s.config.baseUrl) : null;
        } catch {
          // not a URL: the source cannot run either; `base URL` shows it
        }
        const budget = host ? await db.prisma.hostRateLimit.findUnique({ where: { host } }) : null;
        const { catalogDifferences, describeChange, recentConfigChanges } = await import('./config-changes.js');
        const changes = await recentConfigChanges(db, s.id);
        // What the file says and the database does not apply (the database's value wins, see sources-set.ts).
        const differences = entry ? catalogDifferences(entry, s) : [];
        // Picked field by field, so no secret can ride along with a future column.
        const shown = {
          name: s.name,
          title: s.title,
          organization: s.organization,
          url: s.url,
          vertical: s.vertical,
          connector: s.connector,
          implemented: entry?.implemented ?? false,
          frequency: s.updateFrequency,
          rationale: entry?.rationale ?? null,
          active: s.isActive,
          params: s.params,
          // data_sources.note, as the catalog file last wrote it.
          note: s.note,
          updatedAt: s.updatedAt,
          config: s.config && {
            baseUrl: s.config.baseUrl,
            authType: s.config.authType,
            apiKeyParam: s.config.apiKeyParam,
            apiKeyIn: s.config.apiKeyIn,
            bearerLoginUrl: s.config.bearerLoginUrl,
            /** How requests carry the credential, in words (sources/kit/http/auth.ts). */
            auth: describeAuthConfig(s.config),
            apiKey: s.config.apiKeyEncrypted ? 'set' : 'not set',
            username: s.config.username,
            rateLimitPerSecond: s.config.rateLimitPerSecond,
            hostBudget: budget && { host: budget.host, requestsPerSecond: budget.requestsPerSecond, note: budget.note },
            timeoutMs: s.config.timeoutMs,
            maxRetries: s.config.maxRetries,
            maxBodyBytes: s.config.maxBodyBytes,
            allowEmptySnapshot: s.config.allowEmptySnapshot,
            maxRemovedRatio: s.config.maxRemovedRatio,
            updatedAt: s.config.updatedAt,
          },
          datasets,
          versions,
          changes,
          catalogDifferences: differences,
        };
        if (args.json) return printJson(shown);
        const c = shown.config;
        console.log(
          [
            `${s.name}: ${s.title}`,
            renderFields([
              ['organization', s.organization],
              ['url', s.url],
              ['vertical', s.vertical],
              ['connector', `${s.connector}${shown.implemented ? '' : ' (not implemented yet)'}`],
              ['frequency', `${s.updateFrequency}${shown.rationale ? ` (${shown.rationale})` : ''}`],
              ['active', yesNo(s.isActive)],
              ['params', JSON.stringify(s.params)],
              ['note', shown.note],
            ]),
            'config',
            c
              ? renderFields([
                  ['base URL', c.baseUrl],
                  ['auth', c.auth],
                  [
                    'API key',
                    // With auth_type none the client sends nothing; only a connector that sends it itself uses it.
                    c.apiKey === 'set' && c.authType === 'none' ? 'set (not sent by the client: auth none)' : c.apiKey,
                  ],
                  ['username', c.username],
                  ['rate limit', `${Number(c.rateLimitPerSecond.toPrecision(3))} requests/s`],
                  [
                    'host budget',
                    c.hostBudget
                      ? `${c.hostBudget.host}: ${Number(c.hostBudget.requestsPerSecond.toPrecision(3))} requests/s` +
                        `${c.hostBudget.note ? ` (${c.hostBudget.note})` : ''}`
                      : `none for ${host ?? 'this base URL'}: held to the rate limit above`,
                  ],
                  ['timeout', `${c.timeoutMs} ms`],
                  ['max retries', String(c.maxRetries)],
                  ['max body', `${formatCount(c.maxBodyBytes)} bytes`],
                  ['empty snapshot', c.allowEmptySnapshot ? 'allowed' : 'refused'],
                  ['max removed', `${Number((c.maxRemovedRatio * 100).toPrecision(3))} % of the current rows`],
                  ['updated', formatTime(c.updatedAt)],
                ])
              : '  none: restart TEDI (`npm start`) to create it from the catalog',
            'datasets',
            datasets.length ? renderFields(datasets.map((d) => [d.slug, d.title])) : '  none',
            'versions',
            versions.length ? indentedTable(versions) : '  none',
            'configuration changes (newest first; `sources set`, `activate`, `deactivate`)',
            changes.length
              ? changes
                  .map(
                    (c) =>
                      `  ${formatTime(c.changedAt)} ${c.changedBy}@${c.host}: ${describeChange({ key: c.key, old: c.oldValue, new: c.newValue })}`,
                  )
                  .join('\n')
              : '  none',
            ...(differences.length
              ? [
                  `catalog file (${catalogFileName(config)}) differs; the database's values are kept`,
                  ...differences.map(
                    (d) =>
                      `  ${d.key}: the file says ${JSON.stringify(d.file)}, the database has ${JSON.stringify(d.database)}`,
                  ),
                ]
              : []),
          ].join('\n'),
        );
      });
    });

  registerSourceSettings(sources);
}

/** The versions table, indented under its heading, cut to the terminal's width less the indent. */
function indentedTable(versions: readonly VersionStatus[]): string {
  const width = terminalWidth();
  return renderTable(versions, VERSION_COLUMNS, width === undefined ? undefined : width - 2).replace(/^/gm, '  ');
}

function catalogFileName(config: AppConfig): string {
  return config.TEDI_CATALOG_FILE ?? 'catalog/sources.yaml';
}
