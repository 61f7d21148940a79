// Where a tabular file's bytes come from and what format they are in: the operator's file or URL (or the
// source's feed URL), opened as a stream, with read failures kept apart from parse failures.
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { configurationError, FailureType } from '../../../lib/failures';
import { describeLocation, isUrl, openLocation } from '../../kit/open-location';
import type { SourceContext } from '../../kit/types';
import { FORMATS, type TabularFormat } from './params';

function formatFromName(location: string): TabularFormat | undefined {
  const name = isUrl(location) ? new URL(location).pathname : location;
  const ext = path.extname(name).slice(1).toLowerCase();
  if (ext === 'xls') {
    throw configurationError(
      `${describeLocation(location)} is an Excel 97-2003 workbook (.xls), which cannot be streamed: save it as .xlsx or .csv`,
    );
  }
  return (FORMATS as readonly string[]).includes(ext) ? (ext as TabularFormat) : undefined;
}

function formatFromContentType(contentType: string | null): TabularFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'text/csv' || type === 'application/csv') return 'csv';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet') return 'xlsx';
  return undefined;
}

/**
 * The source's declared format, else the file extension, else the served content-type. A declared format
 * that the file's extension contradicts is refused: parsing an XLSX as CSV would only produce noise.
 */
export function resolveFormat(
  declared: TabularFormat | undefined,
  location: string,
  contentType: string | null = null,
): TabularFormat {
  const byName = formatFromName(location);
  if (declared && byName && declared !== byName) {
    throw configurationError(
      `${describeLocation(location)} looks like ${byName.toUpperCase()} but the source's params.format is "${declared}": ` +
        'import a file of the declared format, or fix params.format',
    );
  }
  const format = declared ?? byName ?? formatFromContentType(contentType);
  if (!format) {
    throw configurationError(
      `cannot tell whether ${describeLocation(location)} is CSV, JSON or XLSX: ` +
        'give the file a .csv, .json or .xlsx name, or set params.format',
    );
  }
  return format;
}

/** Opens a location; for URLs the response's content-type comes along, to infer the format from. */
export async function openTabular(
  ctx: SourceContext<unknown>,
  location: string,
): Promise<{ bytes: AsyncIterable<Buffer>; contentType: string | null }> {
  if (!isUrl(location)) return { bytes: openLocation(ctx, location), contentType: null };
  const res = await ctx.http.request(location);
  return { bytes: ctx.http.stream(res), contentType: res.headers.get('content-type') };
}

/** Heartbeat while bytes flow, so a long stretch without rows (an XLSX being unzipped) does not look dead. */
const HEARTBEAT_BYTES = 4 * 1024 * 1024;

/**
 * A byte stream that never throws into the parsers: a read failure ends it early and is kept, to be
 * rethrown typed (retryable for a URL, a configuration error for a file) instead of being reported as the
 * parse error the cut-off produces. It also keeps a source error from escaping through the `.pipe()` of a
 * parsing library as an unhandled 'error' event, which would take the worker down.
 */
export class ByteSource {
  private failure: ApplicationFailure | undefined;
  bytesRead = 0;

  constructor(
    private readonly ctx: SourceContext<unknown>,
    private readonly location: string,
    private readonly inner: AsyncIterable<Buffer>,
  ) {}

  async *bytes(): AsyncGenerator<Buffer> {
    let nextBeat = HEARTBEAT_BYTES;
    try {
      for await (const chunk of this.inner) {
        this.bytesRead += chunk.byteLength;
        if (this.bytesRead >= nextBeat) {
          this.ctx.heartbeat({ stage: 'read', bytesRead: this.bytesRead });
          nextBeat += HEARTBEAT_BYTES;
        }
        yield chunk;
      }
    } catch (err) {
      this.failure = this.typed(err);
    }
  }

  /** Rethrows the read failure, if reading failed. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  private typed(err: unknown): ApplicationFailure {
    if (err instanceof ApplicationFailure) return err;
    const reason = err instanceof Error ? err.message : String(err);
    const where = `reading ${describeLocation(this.location)} failed after ${this.bytesRead} bytes`;
    return isUrl(this.location)
      ? ApplicationFailure.create({
          message: `${where}: ${reason}`,
          type: FailureType.SourceUnavailable,
          cause: err as Error,
        })
      : configurationError(`${where}: ${reason}. Check the file and that the worker can read it.`);
  }
}
