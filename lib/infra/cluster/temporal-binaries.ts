// The cluster mode's Temporal: the server, its SQL schema tool and the Web UI server, built from the Go
// module proxy at the versions pinned in deploy/temporal/versions.env (scripts/build-temporal-server.sh,
// cached under .tools/temporal-<version>/). The compose deployment runs the same versions as images.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectPath } from '../../paths';

export interface TemporalVersions {
  server: string;
  ui: string;
}

/** deploy/temporal/versions.env: the one place the Temporal versions are pinned. */
export function pinnedTemporalVersions(): TemporalVersions {
  const text = fs.readFileSync(projectPath('deploy', 'temporal', 'versions.env'), 'utf8');
  const value = (key: string): string => {
    const found = new RegExp(`^${key}=(\\S+)$`, 'm').exec(text)?.[1];
    if (!found) throw new Error(`deploy/temporal/versions.env has no ${key}=<version> line`);
    return found;
  };
  return { server: value('TEMPORAL_SERVER_VERSION'), ui: value('TEMPORAL_UI_VERSION') };
}

export interface TemporalBinaries {
  versions: TemporalVersions;
  server: string;
  sqlTool: string;
  /** null when the Web UI server did not build here (the cluster then runs without it). */
  uiServer: string | null;
  /** The server's PostgreSQL schema files (schema/postgresql/v12/{temporal,visibility}/versioned). */
  postgresSchemaDir: string;
}

/** The binaries' folder once built; no build is started. */
export function temporalBinariesIn(dir: string, versions = pinnedTemporalVersions()): TemporalBinaries | null {
  const server = path.join(dir, 'temporal-server');
  const sqlTool = path.join(dir, 'temporal-sql-tool');
  const postgresSchemaDir = path.join(dir, 'schema', 'postgresql', 'v12');
  if (![server, sqlTool, postgresSchemaDir].every((p) => fs.existsSync(p))) return null;
  const ui = path.join(dir, 'temporal-ui-server');
  return { versions, server, sqlTool, uiServer: fs.existsSync(ui) ? ui : null, postgresSchemaDir };
}

/**
 * Builds the pinned binaries when they are not in .tools/ yet (minutes the first time, seconds from Go's
 * caches), and returns where they are. The build's progress goes to `log`.
 */
export async function buildTemporalBinaries(log: (line: string) => void = () => undefined): Promise<TemporalBinaries> {
  const versions = pinnedTemporalVersions();
  const ready = temporalBinariesIn(projectPath('.tools', `temporal-${versions.server}`), versions);
  if (ready) return ready;
  const dir = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'bash',
      [projectPath('scripts', 'build-temporal-server.sh')],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`building Temporal ${versions.server} failed:\n${stderr.trim().slice(-4000)}`));
        else resolve(stdout.trim().split('\n').pop() ?? '');
      },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(line);
    });
  });
  const built = temporalBinariesIn(dir, versions);
  if (!built) throw new Error(`scripts/build-temporal-server.sh finished, but ${dir} lacks the binaries`);
  return built;
}
