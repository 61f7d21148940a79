// HTTP for connectors: one client per ingestion, built from DataSourceConfig (base URL, rate limit,
// timeout). It turns HTTP outcomes into Temporal failures that say what happened and whether a retry
// can help, so every connector gets the same retry behaviour without writing any of it.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';

export interface HttpClientOptions {
  /** Requests per second allowed to this source (DataSourceConfig.rateLimitPerSecond). */
  rateLimitPerSecond: number;
  timeoutMs: number;
  /** Headers sent with every request (e.g. auth). Never logged. */
  headers?: Record<string, string>;
  /** Cancellation from the activity context. */
  signal?: AbortSignal;
  /** Called with the byte count of each response chunk that streams through. */
  onBytes?: (n: number) => void;
  /** Names used in error messages instead of the full URL, which may carry a key. */
  sourceName: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** Treat these statuses as success and let the caller read the body (e.g. an API's own error envelope). */
  acceptStatuses?: number[];
}

/** Parses Retry-After (seconds or HTTP date) into milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Strips query parameters that carry credentials before a URL goes into an error message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const key of [...u.searchParams.keys()]) {
      if (/key|token|secret|password|signature/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

export class HttpClient {
  private nextSlotAt = 0;

  constructor(private readonly options: HttpClientOptions) {}

  /** Waits for this source's next rate-limit slot (calls_per_second of the seed's connectors). */
  private async throttle(): Promise<void> {
    const spacing = 1000 / this.options.rateLimitPerSecond;
    const now = Date.now();
    const at = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = at + spacing;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  /** Sends a request; resolves with a 2xx (or accepted) response, otherwise throws a typed ApplicationFailure. */
  async request(url: string, opts: RequestOptions = {}): Promise<Response> {
    await this.throttle();
    const where = `${this.options.sourceName} ${opts.method ?? 'GET'} ${redactUrl(url)}`;
    const signals = [AbortSignal.timeout(this.options.timeoutMs)];
    if (this.options.signal) signals.push(this.options.signal);
    let res: Response;
    try {
      res = await fetch(url, {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'tedi-ingest/0.1', ...this.options.headers, ...opts.headers },
        body: opts.body,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : e.message;
      throw ApplicationFailure.create({
        message: `${where}: ${reason}`,
        type: FailureType.SourceUnavailable,
        cause: e,
      });
    }
    if (res.ok || opts.acceptStatuses?.includes(res.status)) return res;
    const snippet = (await res.text().catch(() => '')).slice(0, 300).replace(/\s+/g, ' ');
    const detail = `${where} answered HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`;
    if (res.status === 429 || (res.status === 403 && res.headers.has('retry-after'))) {
      const delay = parseRetryAfter(res.headers.get('retry-after'));
      throw ApplicationFailure.create({
        message: `${detail} (rate limited; retrying after ${delay === undefined ? 'backoff' : `${delay} ms`})`,
        type: FailureType.RateLimited,
        nextRetryDelay: delay,
      });
    }
    if (res.status >= 500 || res.status === 408) {
      throw ApplicationFailure.retryable(detail, FailureType.SourceUnavailable);
    }
    throw ApplicationFailure.nonRetryable(detail, FailureType.SourceRejected);
  }

  /** GET + JSON parse; a body that is not JSON is an InvalidPayload. */
  async getJson(url: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.request(url, opts);
    const text = await this.readText(res);
    try {
      return JSON.parse(text);
    } catch {
      throw ApplicationFailure.nonRetryable(
        `${this.options.sourceName}: ${redactUrl(url)} did not return JSON (starts with ${JSON.stringify(text.slice(0, 80))})`,
        FailureType.InvalidPayload,
      );
    }
  }

  /** Reads a whole (small) body, counting bytes. Big bodies should use `stream`. */
  async readText(res: Response): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream(res)) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Streams a body chunk by chunk, counting bytes as they pass. */
  async *stream(res: Response): AsyncGenerator<Buffer> {
    if (!res.body) return;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      this.options.onBytes?.(chunk.byteLength);
      yield Buffer.from(chunk);
    }
  }
}
