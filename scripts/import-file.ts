// npm run import -- <source> <file-or-url> [--version current] [--force] [--no-wait]
// Imports one file (or URL) into a file source: starts its ingestion with trigger "event" and waits for
// the result. The arguments are checked before anything starts; a local file must exist, and is passed as
// an absolute path because the worker, not this command, reads it.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { z } from 'zod';

const USAGE = 'usage: npm run import -- <source> <file-or-url> [--version current] [--force] [--no-wait]';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A local path (resolved against `cwd`, and required to be a readable file) or an http(s) URL, as is. */
function locationSchema(cwd: string) {
  return z
    .string({ error: 'missing <file-or-url>: the file to import, e.g. ./surveys/2024-q1.csv' })
    .trim()
    .min(1, 'missing <file-or-url>: the file to import, e.g. ./surveys/2024-q1.csv')
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
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      const problem = !stat
        ? 'no such file'
        : !stat.isFile()
          ? 'not a file'
          : (() => {
              try {
                fs.accessSync(file, fs.constants.R_OK);
                return undefined;
              } catch {
                return 'not readable';
              }
            })();
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: ${file}` });
      return file;
    });
}

function argsSchema(cwd: string) {
  return z.object({
    source: z
      .string({ error: 'missing <source>: the catalog name of a file source, e.g. agriculture_local_surveys' })
      .regex(/^[a-z0-9_-]+$/, 'source must be a catalog name such as agriculture_local_surveys'),
    location: locationSchema(cwd),
    extra: z.array(z.string()).max(0, 'too many arguments: give one source and one file or URL'),
    version: z.string().trim().min(1, '--version needs a version label, e.g. current').default('current'),
    force: z.boolean().default(false),
    wait: z.boolean().default(true),
  });
}
export type ImportArgs = Omit<z.output<ReturnType<typeof argsSchema>>, 'extra'>;

export type ImportCommand =
  | { help: true; source?: string; location?: string; version: string }
  | ({ help: false } & ImportArgs);

const OPTIONS = {
  version: { type: 'string' },
  force: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readArgv(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    // Unknown options and missing option values, in node:util's own words.
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

/** Where the operator typed the command: `npm run` moves to the package folder, and says where it came from. */
const invocationDir = () => process.env.INIT_CWD ?? process.cwd();

/** Reads the command line; throws UsageError with every problem and the usage line. */
export function parseImportArgs(argv: string[], cwd = invocationDir()): ImportCommand {
  const { values, positionals } = readArgv(argv);
  const [source, location, ...extra] = positionals;
  if (values.help) return { help: true, source, location, version: values.version ?? 'current' };
  const result = argsSchema(cwd).safeParse({
    source,
    location,
    extra,
    version: values.version,
    force: values.force,
    wait: !values['no-wait'],
  });
  if (!result.success) {
    throw new UsageError(`${result.error.issues.map((i) => i.message).join('\n')}\n${USAGE}`);
  }
  const { extra: _, ...args } = result.data;
  return { help: false, ...args };
}

/** The task queue of a catalog source (its vertical), for the equivalent `temporal workflow start`. */
async function taskQueueOf(source: string | undefined): Promise<string | undefined> {
  if (!source) return undefined;
  const { catalog } = await import('../prisma/catalog');
  return catalog({ worldBankBaseUrl: '', worldBankCountries: [] }).find((e) => e.name === source)?.vertical;
}

export function helpText(
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
    USAGE,
    '',
    'Imports one CSV, JSON or XLSX file (or an http(s) URL serving one) into a file source, as a new',
    'revision of its dataset version. The same file twice makes no new revision.',
    '',
    '  <source>        catalog name, e.g. agriculture_local_surveys, employment_local_surveys, cadastre',
    '  <file-or-url>   a local file (it must exist; the worker reads it, so it must be readable on the',
    "                  worker's machine) or an http(s):// URL",
    '  --version <v>   dataset version label (default: current)',
    '  --force         import even if the source is inactive, its breaker is open, or the file is unchanged',
    '  --no-wait       print the workflow id and return without waiting for the result',
    '',
    'The same with the Temporal CLI (the task queue is the vertical of the source):',
    '',
    '  temporal workflow start --type ingestDatasetVersion \\',
    `    --task-queue ${opts.taskQueue ?? '<vertical of the source>'} \\`,
    `    --workflow-id ingest-${source}-${version}-manual-$(date -u +%Y%m%dT%H%M%SZ) \\`,
    `    --input '${input}'`,
  ].join('\n');
}

async function main(): Promise<void> {
  const command = parseImportArgs(process.argv.slice(2));
  if (command.help) {
    console.log(helpText({ ...command, taskQueue: await taskQueueOf(command.source) }));
    return;
  }
  // Loaded only now, so that a usage error answers at once, without connecting to anything.
  const { loadConfig } = await import('../lib/config');
  const { connectToRunning } = await import('../lib/infra/running');
  const { startManualIngestion } = await import('../lib/temporal/start-ingestion');
  const running = await connectToRunning(loadConfig());
  try {
    const handle = await startManualIngestion(running.client, running.db, {
      source: command.source,
      version: command.version,
      force: command.force,
      trigger: 'event',
      event: { location: command.location },
    });
    console.log(`started ${handle.workflowId} (importing ${command.location})`);
    if (!command.wait) return;
    const result = await handle.result();
    console.log(JSON.stringify(result, null, 2));
    if (result.status === 'skipped') {
      console.log(`not imported: ${result.reason}. Pass --force to import anyway.`);
    }
  } finally {
    await running.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    if (err instanceof WorkflowFailedError) console.error(`import failed: ${err.cause?.message ?? err.message}`);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}
