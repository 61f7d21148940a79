// `tedi import <source> <file-or-url>`: one file (or URL) into a file source, as a new revision of its
// dataset version, started with trigger "event". The location is checked before anything starts; a local
// file must exist, and travels as an absolute path because the worker, not this command, reads it.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { findVersion, jsonFlag, sourceName, versionLabel } from './args';
import { withRunning } from './context';
import { validateArgs } from './errors';
import { JSON_HELP } from './output';

const FILE_EXAMPLE = 'the file to import, e.g. ./surveys/2024-q1.csv';

function readableFileProblem(file: string): string | undefined {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return 'no such file';
  if (!stat.isFile()) return 'not a file';
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch {
    return 'not readable';
  }
}

/** A local path (resolved against `cwd`, and required to be a readable file) or an http(s) URL, as is. */
function locationSchema(cwd: string) {
  return z
    .string({ error: `missing: ${FILE_EXAMPLE}` })
    .trim()
    .min(1, `missing: ${FILE_EXAMPLE}`)
    .transform((given, ctx) => {
      if (/^https?:\/\//i.test(given)) {
        if (!URL.canParse(given)) ctx.addIssue({ code: 'custom', message: `"${given}" is not a valid URL` });
        return given;
      }
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given) && !/^file:\/\//i.test(given)) {
        ctx.addIssue({ code: 'custom', message: `"${given}": only local files and http(s):// URLs can be imported` });
        return z.NEVER;
      }
      const file = path.resolve(cwd, given.replace(/^file:\/\//i, ''));
      const problem = readableFileProblem(file);
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: ${file}` });
      return file;
    });
}

function importSchema(cwd: string) {
  return z.object({
    source: sourceName,
    fileOrUrl: locationSchema(cwd),
    version: versionLabel,
    force: z.boolean().default(false),
    acceptRemovals: z.boolean().default(false),
    wait: z.boolean().default(true),
    json: jsonFlag,
  });
}
export type ImportArgs = z.output<ReturnType<typeof importSchema>>;

/** Where the operator typed the command: `npm run` moves to the package folder, and says where it came from. */
const invocationDir = () => process.env.INIT_CWD ?? process.cwd();

/** Validates the import's arguments as commander hands them over; throws UsageError naming the argument. */
export function importArgs(raw: Record<string, unknown>, cwd = invocationDir()): ImportArgs {
  return validateArgs(importSchema(cwd), raw, ['source', 'fileOrUrl']);
}

/** The same import with the Temporal CLI (the task queue is the vertical of the source). */
export function temporalStartHint(
  opts: { source?: string; location?: string; version?: string; taskQueue?: string; cwd?: string } = {},
): string {
  const { source = '<source>', version = 'current', location } = opts;
  const file = !location
    ? '/absolute/path/to/file.csv'
    : /^https?:\/\//i.test(location)
      ? location
      : path.resolve(opts.cwd ?? invocationDir(), location);
  const input = JSON.stringify({ source, version, trigger: 'event', event: { location: file } });
  return [
    '  temporal workflow start --type ingestDatasetVersion \\',
    `    --task-queue ${opts.taskQueue ?? '<vertical of the source>'} \\`,
    `    --workflow-id ingest-${source}-${version}-manual-$(date -u +%Y%m%dT%H%M%SZ) \\`,
    `    --input '${input}'`,
  ].join('\n');
}

const HELP_AFTER = [
  '',
  'Imports one CSV, JSON or XLSX file (or an http(s) URL serving one) into a file source, e.g.',
  'agriculture_local_surveys, employment_local_surveys or cadastre. The same file twice makes no new',
  "revision. A local file must be readable on the worker's machine: the worker reads it.",
  '',
  'The same with the Temporal CLI:',
  '',
  temporalStartHint(),
].join('\n');

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a file or URL into a file source (on-event ingestion) and wait for the result')
    .argument('<source>', 'catalog name of a file source, e.g. agriculture_local_surveys')
    .argument('<file-or-url>', 'a local CSV/JSON/XLSX file, or an http(s):// URL serving one')
    .option('--version <label>', 'dataset version (default: current)')
    // An import runs whatever the source's schedule state (inactive, breaker open): someone asked for it.
    .option('--force', 'import even if the file is unchanged since the last import')
    .option(
      '--accept-removals',
      'accept, for this run, a snapshot the guards refuse as empty or removing too many rows (recorded in the log)',
    )
    .option('--no-wait', 'print the workflow id and return at once')
    .option('--json', JSON_HELP)
    .addHelpText('after', HELP_AFTER)
    .action(async (source, fileOrUrl, opts) => {
      const args = importArgs({ ...opts, source, fileOrUrl });
      // Loaded on use: it brings the Temporal client (see context.ts).
      const { runIngestion } = await import('./ingestion.js');
      await withRunning(async (running) => {
        await findVersion(running.db, args.source, args.version);
        await runIngestion(
          running,
          {
            source: args.source,
            version: args.version,
            force: args.force,
            acceptRemovals: args.acceptRemovals,
            trigger: 'event',
            event: { location: args.fileOrUrl },
          },
          { wait: args.wait, json: args.json },
        );
      });
    });
}
