// Opens what an operator handed to an on-event ingestion, a local file or an http(s) URL, as a byte
// stream, and computes its checksum (the probe of file sources: the same file twice is no change).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { badRunInput, configurationError } from '../../lib/failures';
import { redactUrl } from '../../lib/redact';
import type { SourceContext } from './types';

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** What a log line or an error may show of a location: a file's name, a URL without credentials. */
export function describeLocation(location: string): string {
  return isUrl(location) ? redactUrl(location) : path.basename(location);
}

/** The location this run must read: the operator's event input, else the source's configured feed URL. */
export function requireLocation(ctx: SourceContext<unknown>, configured?: string): string {
  const location = ctx.event?.location ?? configured;
  if (!location) {
    // The run was started without the file it needs (a file-less trigger): the command was wrong, not the source.
    throw badRunInput(
      `${ctx.sourceName} needs a file or URL: pass one when triggering (npm run tedi -- import ${ctx.sourceName} <file-or-url>) ` +
        'or configure a feed URL in the source params (feedUrl).',
    );
  }
  return location;
}

/** Streams the bytes at `location`; files are read from disk, URLs through the source's HttpClient. */
export async function* openLocation(ctx: SourceContext<unknown>, location: string): AsyncGenerator<Buffer> {
  if (isUrl(location)) {
    const res = await ctx.http.request(location);
    yield* ctx.http.stream(res);
    return;
  }
  const file = path.resolve(location.replace(/^file:\/\//, ''));
  if (!fs.existsSync(file)) {
    // The import's own file is this run's input; a missing file:// feed URL is the source's configuration.
    const given = ctx.event?.location === location;
    const fail = given ? badRunInput : configurationError;
    throw fail(
      `${ctx.sourceName}: file not found: ${file}. ${given ? 'Check the path given to the import.' : 'Fix params.feedUrl.'}`,
    );
  }
  for await (const chunk of fs.createReadStream(file)) yield chunk as Buffer;
}

/** sha256 of the bytes at `location`, streamed (never held in memory). */
export async function checksumOfLocation(ctx: SourceContext<unknown>, location: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of openLocation(ctx, location)) hash.update(chunk);
  return hash.digest('hex');
}
