// Configuration changed without SQL, and its audit trail. Every change (`sources set`, `activate`,
// `deactivate`) is written with one config_changes row per key (who, when, old → new, the command) in the
// same transaction, so a change is never made without its record.
//
// Why the database and not the operator console (the route resets take, whose history is their audit
// trail): configuration lives in the database and is read from there by every run, so its record belongs
// beside it, where `sources show` and SQL read it; and the command then works while Temporal is down,
// as reads do, which is when an operator is most likely to be fixing a source's configuration.
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { CatalogEntry } from '../../catalog/load';
import type { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../lib/db';
import { redactUrlsInText } from '../../lib/redact';
import type { SettingChange, SettingsPlan } from './source-settings';

export interface ChangeAuthor {
  /** The OS user running the command. */
  changedBy: string;
  host: string;
  /** The command line as typed after `tedi`, URLs' passwords masked. */
  command: string;
}

export function currentAuthor(argv: readonly string[]): ChangeAuthor {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name, else the uid.
    user = process.env.USER ?? process.env.LOGNAME ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return { changedBy: user, host: os.hostname(), command: redactUrlsInText(argv.join(' ')) };
}

/** A value as the audit row keeps it: JSON, a URL's password masked (a base_url may carry one); null: not set. */
function audited(value: unknown): Prisma.InputJsonValue | null {
  if (value === undefined || value === null) return null;
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'string' ? redactUrlsInText(v) : v)));
}

export interface ConfigUpdate extends SettingsPlan {
  isActive?: boolean;
}

/** Writes the update and its audit rows in one transaction; returns the changes written. */
export async function applyConfigChange(
  db: Database,
  sourceId: number,
  update: ConfigUpdate,
  author: ChangeAuthor,
): Promise<SettingChange[]> {
  if (update.changes.length === 0) return [];
  // Loaded on use, like the database client itself (context.ts): `--help` should not wait for it.
  const { Prisma } = await import('../../generated/prisma/client.js');
  const stored = (v: unknown) => audited(v) ?? Prisma.DbNull;
  await db.prisma.$transaction(async (tx) => {
    const source = {
      ...(update.params ? { params: update.params as object } : {}),
      ...(update.isActive !== undefined ? { isActive: update.isActive } : {}),
    };
    if (Object.keys(source).length > 0) await tx.dataSource.update({ where: { id: sourceId }, data: source });
    if (Object.keys(update.config).length > 0) {
      await tx.dataSourceConfig.update({ where: { dataSourceId: sourceId }, data: update.config });
    }
    await tx.configChange.createMany({
      data: update.changes.map((c) => ({
        dataSourceId: sourceId,
        key: c.key,
        oldValue: stored(c.old),
        newValue: stored(c.new),
        ...author,
      })),
    });
  });
  return update.changes;
}

export interface RecordedChange {
  key: string;
  oldValue: unknown;
  newValue: unknown;
  changedBy: string;
  host: string;
  command: string;
  changedAt: Date;
}

/** The latest changes of a source, newest first. */
export async function recentConfigChanges(db: Database, sourceId: number, limit = 10): Promise<RecordedChange[]> {
  return db.prisma.configChange.findMany({
    where: { dataSourceId: sourceId },
    orderBy: [{ changedAt: 'desc' }, { id: 'desc' }],
    take: limit,
    select: { key: true, oldValue: true, newValue: true, changedBy: true, host: true, command: true, changedAt: true },
  });
}

/** "countries: ["BJ"] → ["BJ","TG"]"; a key not set reads "(default)"; a URL's password is masked. */
export function describeChange(c: { key: string; old?: unknown; new?: unknown }): string {
  const show = (v: unknown) => (v === undefined || v === null ? '(default)' : JSON.stringify(audited(v)));
  return `${c.key}: ${show(c.old)} → ${show(c.new)}`;
}

export interface CatalogDifference {
  /** As `sources set` names it. */
  key: 'params' | 'is_active' | 'base_url' | 'rate_limit_per_second';
  file: unknown;
  database: unknown;
}

/**
 * Where the catalog file and the database disagree on what an operator may change. The database wins
 * (catalog/apply.ts keeps a params or is_active value changed since the file last wrote it, and never
 * rewrites data_source_configs), so these are the file's values a restart will not apply.
 */
export function catalogDifferences(
  entry: CatalogEntry,
  source: { params: unknown; isActive: boolean; config: { baseUrl: string; rateLimitPerSecond: number } | null },
): CatalogDifference[] {
  const found: CatalogDifference[] = [];
  const add = (key: CatalogDifference['key'], file: unknown, database: unknown) => {
    if (!isDeepStrictEqual(file, database)) found.push({ key, file, database });
  };
  add('params', entry.params, source.params);
  add('is_active', entry.implemented && entry.active !== false, source.isActive);
  if (source.config) {
    add('base_url', entry.baseUrl, source.config.baseUrl);
    add('rate_limit_per_second', entry.rateLimitPerSecond ?? 1, source.config.rateLimitPerSecond);
  }
  return found;
}
