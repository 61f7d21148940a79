// HTTP for connectors: one client per ingestion, built from DataSourceConfig (base URL, rate limit,
// timeout). It turns HTTP outcomes into Temporal failures that say what happened and whether a retry
// can help, so every connector gets the same retry behaviour without writing any of it.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { CREDENTIAL_NAME, redactUrl, SecretMasker } from '../../lib/redact';
import { firstInvalidUtf8 } from '../connectors/shared/encoding';

/** JSON and text bodies are UTF-8 (RFC 8259); a BOM is dropped, invalid bytes throw. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface HttpClientOptions {
  /** Requests per second allowed to this source (DataSourceConfig.rateLimitPerSecond). */
  rateLimitPerSecond: number;
  timeoutMs: number;
  /** Headers sent with every request (e.g. auth). Never logged. */
  headers?: Record<string, string>;
  /**
   * Credential values (API key, password) to mask in every error this client builds, in every encoding
   * (lib/redact.ts). Credentials the client sends in a credential-named header, query parameter or form
   * field (key, token, password, authorization…) are added on their own.
   */
  secrets?: readonly (string | undefined)[];
  /** Cancellation from the activity context. */
  signal?: AbortSignal;
  /** Called with the byte count of each response chunk that streams through. */
  onBytes?: (n: number) => void;
  /**
   * Largest body this source may send (DataSourceConfig.maxBodyBytes); a larger one fails as
   * InvalidPayload, before or while it streams. Bodies read whole (`readText`, `getJson`) are also held
   * to MAX_BUFFERED_BODY_BYTES, because they sit in memory.
   */
  maxBodyBytes?: number;
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

/** Default DataSourceConfig.maxBodyBytes: 2 GiB, beyond any one file or page a source of ours publishes. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 ** 3;
/** Bodies read whole into memory (JSON pages, catalogues, login answers) stop here: 64 MiB. */
export const MAX_BUFFERED_BODY_BYTES = 64 * 1024 ** 2;

/** Parses Retry-After (seconds or HTTP date) into milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  // A negative number is no delay at all (and not a date: Date.parse('-5') is the year -5).
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Strips credentials (URL password, key/token/secret… parameters) before a URL goes into an error message. */
export { redactUrl };

/**
 * A deadline that can be pushed back: `timeoutMs` bounds the wait for response headers and then each
 * silence between body chunks, not the whole download, so a 300 MB file on a slow link is fine while
 * a stalled connection still fails.
 */
class IdleDeadline {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new IdleTimeout(this.ms)), this.ms);
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

class IdleTimeout extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`timed out after ${ms} ms without data`);
  }
}

/** A value guessed to be a credential from its header or parameter name is masked from this length on. */
const LEARNED_SECRET_MIN_LENGTH = 6;

export class HttpClient {
  private nextSlotAt = 0;
  private readonly deadlines = new WeakMap<Response, IdleDeadline>();

  /** Every credential value this client was given or has sent: masked in every error it lets out. */
  private readonly secrets = new Set<string>();
  private masker = new SecretMasker([]);

  constructor(private readonly options: HttpClientOptions) {
    this.learn(options.secrets ?? [], true);
    this.learnHeaders(options.headers);
  }

  /** `text` with every credential this client has sent masked, in every encoding (lib/redact.ts). */
  redact(text: string): string {
    return this.masker.mask(text);
  }

  /** `err` masked in place (message, stack, cause chain), keeping its type and retry behaviour. */
  redactError<T>(err: T): T {
    return this.masker.maskError(err);
  }

  private learn(values: Iterable<string | undefined>, explicit = false): void {
    const before = this.secrets.size;
    for (const value of values) {
      // A guessed credential (by its header or parameter name) must look like one: a short value such as
      // `format=1` would otherwise be masked all over every message.
      if (value && (explicit || value.length >= LEARNED_SECRET_MIN_LENGTH)) this.secrets.add(value);
    }
    if (this.secrets.size !== before) this.masker = new SecretMasker(this.secrets);
  }

  /** Credential-named headers: the whole value, the token after its scheme, and a Basic pair decoded. */
  private learnHeaders(headers: Record<string, string> | undefined): void {
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!CREDENTIAL_NAME.test(name) && !/^(cookie|proxy-authorization)$/i.test(name)) continue;
      const values = [value];
      const scheme = /^([A-Za-z][\w-]*)\s+(\S.*)$/.exec(value);
      if (scheme) {
        values.push(scheme[2]!);
        if (scheme[1]!.toLowerCase() === 'basic') {
          const pair = Buffer.from(scheme[2]!, 'base64').toString('utf8');
          values.push(pair, pair.slice(pair.indexOf(':') + 1));
        }
      }
      this.learn(values);
    }
  }

  /** The credentials one request carries: headers, URL password, credential-named query and form fields. */
  private learnRequest(url: string, opts: RequestOptions): void {
    this.learnHeaders(opts.headers);
    const fields: Array<[string, string]> = [];
    try {
      const u = new URL(url);
      if (u.password) this.learn([decodeURIComponent(u.password)], true);
      fields.push(...u.searchParams);
    } catch {
      // fetch reports an unparseable URL itself
    }
    if (opts.body instanceof URLSearchParams) fields.push(...opts.body);
    this.learn(fields.filter(([k]) => CREDENTIAL_NAME.test(k)).map(([, v]) => v));
  }

  /** Sends a request; resolves with a 2xx (or accepted) response, otherwise throws a typed ApplicationFailure. */
  async request(url: string, opts: RequestOptions = {}): Promise<Response> {
    this.learnRequest(url, opts);
    try {
      return await this.send(url, opts);
    } catch (err) {
      throw this.redactError(err);
    }
  }

  /** Waits for this source's next rate-limit slot (calls_per_second of the seed's connectors). */
  private async throttle(): Promise<void> {
    const spacing = 1000 / this.options.rateLimitPerSecond;
    const now = Date.now();
    const at = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = at + spacing;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  /** A network failure or timeout, typed so Temporal retries it with backoff. */
  private unavailable(where: string, err: unknown): ApplicationFailure {
    const e = err as Error;
    const reason =
      e?.name === 'TimeoutError' ? e.message || `timed out after ${this.options.timeoutMs} ms` : e?.message;
    return ApplicationFailure.create({ message: `${where}: ${reason}`, type: FailureType.SourceUnavailable, cause: e });
  }

  private async send(url: string, opts: RequestOptions): Promise<Response> {
    await this.throttle();
    const where = `${this.options.sourceName} ${opts.method ?? 'GET'} ${redactUrl(url)}`;
    const deadline = new IdleDeadline(this.options.timeoutMs);
    const signals = [deadline.controller.signal];
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
      deadline.clear();
      throw this.unavailable(
        where,
        (err as Error)?.name === 'AbortError' ? (deadline.controller.signal.reason ?? err) : err,
      );
    }
    deadline.touch();
    this.deadlines.set(res, deadline);
    if (res.ok || opts.acceptStatuses?.includes(res.status)) return res;
    const snippet = (await res.text().catch(() => '')).slice(0, 300).replace(/\s+/g, ' ');
    deadline.clear();
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
      throw this.redactError(
        ApplicationFailure.nonRetryable(
          `${this.options.sourceName}: ${redactUrl(url)} did not return JSON (starts with ${JSON.stringify(text.slice(0, 80))})`,
          FailureType.InvalidPayload,
        ),
      );
    }
  }

  /**
   * Reads a whole (small) body as UTF-8, counting bytes. Big bodies should use `stream`. Bytes that are not
   * UTF-8 fail as InvalidPayload naming their offset: they never become U+FFFD inside labels.
   */
  async readText(res: Response): Promise<string> {
    const chunks: Buffer[] = [];
    const limit = Math.min(this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, MAX_BUFFERED_BODY_BYTES);
    for await (const chunk of this.stream(res, limit)) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    try {
      return STRICT_UTF8.decode(body);
    } catch {
      const at = firstInvalidUtf8(body);
      const where = at < 0 ? `its end (${body.length} bytes) cuts a multi-byte sequence` : `byte ${at}`;
      throw this.redactError(
        ApplicationFailure.nonRetryable(
          `${this.options.sourceName}: ${redactUrl(res.url)} sent a body that is not valid UTF-8 at ${where}`,
          FailureType.InvalidPayload,
        ),
      );
    }
  }

  /**
   * Streams a body chunk by chunk, counting bytes as they pass. A connection that drops or stalls
   * mid-body is a retryable SourceUnavailable, like one that never answered.
   */
  async *stream(res: Response, maxBytes = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES): AsyncGenerator<Buffer> {
    const deadline = this.deadlines.get(res);
    if (!res.body) return;
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      deadline?.clear();
      await res.body.cancel().catch(() => undefined);
      throw this.tooLarge(res, `declares ${declared} bytes`, maxBytes);
    }
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        deadline?.touch();
        this.options.onBytes?.(chunk.byteLength);
        received += chunk.byteLength;
        if (received > maxBytes) throw this.tooLarge(res, `sent more than ${maxBytes} bytes`, maxBytes);
        yield Buffer.from(chunk);
      }
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (this.options.signal?.aborted) throw this.redactError(err);
      const reason = deadline?.controller.signal.aborted ? deadline.controller.signal.reason : err;
      throw this.redactError(
        this.unavailable(`${this.options.sourceName} ${redactUrl(res.url)} (while reading the body)`, reason),
      );
    } finally {
      deadline?.clear();
    }
  }

  private tooLarge(res: Response, what: string, maxBytes: number): ApplicationFailure {
    return this.redactError(
      ApplicationFailure.nonRetryable(
        `${this.options.sourceName}: ${redactUrl(res.url)} ${what}, more than the ${maxBytes} allowed ` +
          '(data_source_configs.max_body_bytes; bodies read whole are held to 64 MiB). Raise the limit if the ' +
          'source really publishes that much, or narrow the query.',
        FailureType.InvalidPayload,
      ),
    );
  }
}
