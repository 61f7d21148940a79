// Exit codes and error messages of the tedi CLI. Scripts branch on the code: 0 = done, 1 = the operation
// failed (an ingestion failed, a server is unreachable), 2 = the command line was wrong and nothing ran.
import { CommanderError } from 'commander';
import type { z } from 'zod';
import { ConfigError } from '../../lib/config';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad input: the message names the argument and says what to give instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The operation could not be done, or ran and failed. */
export class OperationFailed extends Error {
  override name = 'OperationFailed';
}

/**
 * Validates raw command-line values. Each issue is reported under the argument's own name: `<source>` for
 * a positional argument (listed in `positional`), `--kebab-name` for an option.
 */
export function validateArgs<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  positional: readonly string[] = [],
): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    parsed.error.issues
      .map((issue) => {
        const key = issue.path[0];
        if (typeof key !== 'string') return issue.message;
        return `${argumentLabel(key, positional)}: ${issue.message}`;
      })
      .join('\n'),
  );
}

/** How the command line spells a schema key: fileOrUrl is `<file-or-url>` or `--file-or-url`. */
export function argumentLabel(key: string, positional: readonly string[] = []): string {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return positional.includes(key) ? `<${kebab}>` : `--${kebab}`;
}

/** The innermost message of a Temporal failure chain: "Activity task failed" says less than its cause. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error && e.cause.message) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version are answers, not errors; a group called without a subcommand is a usage error.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
  }
  return err instanceof UsageError || err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
}
