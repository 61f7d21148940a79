// Config for the Prisma 6.19 CLI (npm alias `prisma6`), used only to author migrations and to check
// drift (`npm run drift`). The native schema engine cannot be downloaded here, so the CLI runs its wasm
// schema engine (`engine: 'js'`) over @prisma/adapter-pg. Every workaround that path needs lives in this
// one file (see /work/shared/notes/prisma-offline.md); the application itself never loads it.
//
// Inputs, from the environment (scripts/check-drift.ts sets them):
//   DATABASE_URL        a database the engine may connect to; shadow databases are created beside it.
//   TEDI_PRISMA6_SCHEMA the schema file to read (a Prisma-6-readable copy of prisma/schema.prisma, made by
//                       prisma6Schema below).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { defineConfig } from 'prisma6/config';

// Workaround 1: adapter-pg has no column type for the pg_catalog types `"char"` (OID 18) and `name`
// (OID 19), which the engine's introspection queries return ("Column type 'name' could not be
// deserialized"). Their values arrive as strings anyway, so report them as `text` (OID 25).
const CATALOG_TEXT_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

function catalogTypesAsText(result: unknown): unknown {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of (r as pg.QueryResult | undefined)?.fields ?? []) {
      if (CATALOG_TEXT_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

// Workaround 5 (not in the notes, which measured PostgreSQL 15): PostgreSQL 18, the embedded server, lists
// every NOT NULL column as a pg_constraint row with contype 'n'. The 6.19 engine's constraint query only
// excludes 'p', 'u', 'f', so those rows reach a parser that panics ("RuntimeError: unreachable").
// Ask for the two kinds it handles, as the upstream fix does (prisma/orm#29635, prisma-engines#5819);
// nullability is read from pg_attribute either way.
const PG18_CONSTRAINT_FILTER = "contype NOT IN ('p', 'u', 'f')";
const PG18_CONSTRAINT_FIX = "contype IN ('c', 'x')";

function rewriteForPg18<T>(query: T): T {
  if (typeof query === 'string') return query.replace(PG18_CONSTRAINT_FILTER, PG18_CONSTRAINT_FIX) as T;
  const config = query as { text?: unknown } | null;
  if (config && typeof config.text === 'string') {
    return { ...config, text: config.text.replace(PG18_CONSTRAINT_FILTER, PG18_CONSTRAINT_FIX) } as T;
  }
  return query;
}

// The pg client behind both workarounds 1 and 5.
class CatalogTextClient extends pg.Client {
  // pg.Pool calls query with a callback, transactions call it with a promise: patch both results.
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this forwards them all.
  override query(...args: any[]): any {
    args[0] = rewriteForPg18(args[0]);
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => last(err, err ? res : catalogTypesAsText(res));
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return out instanceof Promise ? out.then(catalogTypesAsText) : out;
  }
}

// Workaround 2: build pools from discrete fields. adapter-pg opens the shadow database with
// `{ ...config, database }`, and pg lets a `connectionString` override `database`, so with a URL the
// "shadow" database silently becomes the real one.
function connectionFields(url: string): pg.ClientConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1'), // [::1] -> ::1
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;

// Workaround 4: adapter-pg's executeScript splits a script on `;` and runs the parts one by one in
// autocommit, which breaks `$$` bodies and leaves a failing migration half applied. Send the whole
// script as one simple-protocol query instead (no parameters): PostgreSQL runs it as one transaction.
function wholeScripts(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

async function adminQuery(fields: pg.ClientConfig, sql: string): Promise<void> {
  const client = new pg.Client(fields);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function migrateAdapter(url: string) {
  const fields = connectionFields(url);
  // Workaround 3: each CLI command lingered 10 s after its work was done. Measured here, the cause is the
  // pool's idle clients (pg's idleTimeoutMillis), not the engine's timers: allowExitOnIdle lets the process
  // end once nothing is in flight. (Unref'ing every timer instead made the CLI exit before printing its
  // result, with status 0, which `--exit-code` reads as "no drift".)
  const factory = (database?: string) =>
    new PrismaPg({ ...fields, ...(database ? { database } : {}), Client: CatalogTextClient, allowExitOnIdle: true });
  const main = factory();
  return {
    provider: 'postgres' as const,
    adapterName: main.adapterName,
    connect: async () => wholeScripts(await main.connect()),
    // Workaround 2, second half: adapter-pg drops the shadow database before closing its pool, so the
    // drop fails and the database leaks. Close the pool first, then drop (FORCE: nothing may linger).
    connectToShadowDb: async () => {
      const shadowName = `prisma_migrate_shadow_db_${randomUUID()}`;
      await adminQuery(fields, `CREATE DATABASE "${shadowName}"`);
      const shadow = wholeScripts(await factory(shadowName).connect());
      const closePool = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await closePool();
        await adminQuery(fields, `DROP DATABASE IF EXISTS "${shadowName}" WITH (FORCE)`);
      };
      return shadow;
    },
  };
}

// Workaround 6, for the schema: schema.prisma is written for Prisma 7, which 6.19 cannot fully read. Its
// datasource must name a `url` (else "GetConfigError"), and without `engineType = "client"` on the
// generator the CLI tries to download a native query engine. scripts/check-drift.ts feeds the CLI a
// temporary copy with just those two lines added; neither changes the SQL a diff produces.
export function prisma6Schema(source: string): string {
  let out = source;
  if (!/^\s*url\s*=/m.test(out)) {
    out = out.replace(/(datasource\s+\w+\s*\{[^}]*?provider\s*=\s*"[^"]*")/, '$1\n  url      = env("DATABASE_URL")');
  }
  if (!/^\s*engineType\s*=/m.test(out)) {
    out = out.replace(/(generator\s+\w+\s*\{[^}]*?provider\s*=\s*"[^"]*")/g, '$1\n  engineType   = "client"');
  }
  if (!/^\s*url\s*=/m.test(out) || !/^\s*engineType\s*=/m.test(out)) {
    throw new Error('prisma6Schema: no datasource or generator block with a provider found in the schema.');
  }
  return out;
}

const databaseUrl = process.env.DATABASE_URL;

export default defineConfig({
  // Absolute: Prisma resolves relative paths here from this file's folder, not from the repository root.
  schema: process.env.TEDI_PRISMA6_SCHEMA ?? path.join(__dirname, 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'migrations') },
  // 6.19 gates the JS schema engine behind this flag.
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => {
    if (!databaseUrl) {
      throw new Error('prisma/prisma6.config.ts needs DATABASE_URL; run it through `npm run drift`.');
    }
    return migrateAdapter(databaseUrl);
  },
});
