// Argument schemas shared by the commands, and resolving a source or version name against the catalog.
// Messages say what to give instead; validateArgs (errors.ts) puts the argument's name in front.
import { z } from 'zod';
import type { Database } from '../../lib/db';
import { parseIsoTime } from '../../lib/iso-time';
import { UsageError } from './errors';

const SOURCES_HINT = 'see `npm run tedi -- sources list`';

export const sourceName = z
  .string({ error: `missing: give a source name, e.g. world_bank_agriculture (${SOURCES_HINT})` })
  .regex(/^[a-z0-9_-]+$/, `must be a catalog name such as world_bank_agriculture (${SOURCES_HINT})`);

/** --json: every command prints JSON instead of text when given it. */
export const jsonFlag = z.boolean().default(false);

export const versionLabel = z
  .string()
  .trim()
  .min(1, 'needs a version label, e.g. current')
  .max(200, 'is too long for a version label')
  .default('current');

/** A positive whole number typed on the command line (commander hands over strings). */
export function wholeNumber(opts: { max: number; example: number }) {
  const message = `must be a whole number from 1 to ${opts.max}, e.g. ${opts.example}`;
  return z.coerce.number({ error: message }).int(message).min(1, message).max(opts.max, message);
}

export { parseIsoTime };

export const isoTime = z.string().transform((text, ctx) => {
  const at = parseIsoTime(text);
  if (at) return at;
  ctx.addIssue({
    code: 'custom',
    message: `"${text}" is not an ISO date or time: give e.g. 2026-01-31 or 2026-01-31T06:00:00Z (UTC unless it has an offset)`,
  });
  return z.NEVER;
});

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** A point in time given as an ISO date/time or as an age (7d = seven days before `now`). */
export function sinceTime(now: Date) {
  return z.string().transform((text, ctx) => {
    const age = /^(\d+)\s*(m|h|d|w)$/.exec(text.trim());
    if (age) return new Date(now.getTime() - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
    const at = parseIsoTime(text);
    if (at) return at;
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is neither a date (e.g. 2026-01-01, 2026-01-01T06:00Z) nor an age (e.g. 30m, 12h, 7d, 2w)`,
    });
    return z.NEVER;
  });
}

async function sourceNames(db: Database): Promise<string> {
  const rows = await db.prisma.dataSource.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
  return rows.map((r) => r.name).join(', ');
}

/** The catalog row of a source (with its configuration), or a usage error that lists the sources. */
export async function findSource(db: Database, name: string, label = '<source>') {
  const source = await db.prisma.dataSource.findUnique({ where: { name }, include: { config: true } });
  if (!source) throw new UsageError(`${label}: no source named "${name}". Sources: ${await sourceNames(db)}`);
  return source;
}

/** A dataset version as operators name it, or a usage error that lists what exists. */
export async function findVersion(db: Database, source: string, version: string) {
  const found = await db.prisma.datasetVersion.findFirst({
    where: { version, dataSource: { name: source } },
    include: { dataSource: true },
  });
  if (found) return found;
  const { id } = await findSource(db, source);
  const labels = await db.prisma.datasetVersion.findMany({
    where: { dataSourceId: id },
    select: { version: true },
    orderBy: { version: 'asc' },
  });
  throw new UsageError(
    `--version: source "${source}" has no version "${version}". Versions: ${labels.map((l) => l.version).join(', ') || 'none'}`,
  );
}
