// HTTP for connectors: one client per ingestion, built from DataSourceConfig (base URL, rate limit,
// timeout, max retries). Every try takes a slot of the host's shared rate budget (rate-budget.ts); an
// idempotent request that meets a transient failure is tried again inside the activity attempt
// (retry-policy.ts), so page 40 of 40 failing once costs one request, not 40. What still fails becomes a
// Temporal failure that says what happened, after how many tries, and whether a retry can help, so
// every connector gets the same behaviour without writing any of it. The source's credential is applied
// here too, to every request to its base URL's origin, as its configuration says (auth.ts).
import { ApplicationFailure } from '@temporalio/common';
import { configurationError, FailureType } from '../../../lib/failures';
import { CREDENTIAL_NAME, redactUrl, SecretMasker } from '../../../lib/redact';
import { firstInvalidUtf8 } from '../encoding';
import { authSecrets, bearerLogin, RequestAuth, type SourceAuth } from './auth';
import { budgetHost, LocalRateBudget, type RateBudget } from './rate-budget';
import { decideRetry, RETRY_TIMING, type RetryTiming, type TryOutcome } from './retry-policy';
import { httpCause, transportCause } from './root-cause';
import { type WaitDetails, wait } from './wait';

/** Redirects an authenticated request follows itself, so that its credential never leaves the origin. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** What one request sends: its URL and headers with the credential applied (or not), method and body. */
interface Outgoing {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | URLSearchParams | undefined;
  /** Whether the credential was applied: redirects are then followed by hand (see REDIRECT_STATUSES). */
  authenticated: boolean;
}

/** JSON and text bodies are UTF-8 (RFC 8259); a BOM is dropped, invalid bytes throw. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface HttpClientOptions {
  /** Requests per second allowed to this source (DataSourceConfig.rateLimitPerSecond). */
  rateLimitPerSecond: number;
  timeoutMs: number;
  /** Headers sent with every request. Never logged. Credentials go in `auth`, not here. */
  headers?: Record<string, string>;
  /**
   * The source's credential and where it may go (data_source_configs, resolved by auth.ts resolveAuth):
   * applied to every request to `baseUrl`'s origin, never elsewhere, and masked in every error.
   */
  auth?: { scheme: SourceAuth; baseUrl: string };
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
  /**
   * Extra tries of an idempotent request inside the attempt (data_source_configs.max_retries; policy in
   * retry-policy.ts). Default 0: a client built without it (connector unit tests) tries once, as before.
   */
  maxRetries?: number;
  /** Backoff and Retry-After numbers; production uses RETRY_TIMING, tests shrink them. */
  retryTiming?: Partial<RetryTiming>;
  /** Called while a request waits (retry backoff, rate-budget slot) of 1 s or more: the activity heartbeats. */
  onWait?: (details: WaitDetails) => void;
  /**
   * The host budget every try waits for. Production passes the PostgreSQL one shared by all workers
   * (activities/ingestion/source-context.ts); without it, an in-process budget at rateLimitPerSecond, fit
   * only for unit tests.
   */
  rateBudget?: RateBudget;
  /** When the activity attempt must be done (epoch ms): a retry wait that would end later is not started. */
  deadlineAt?: number;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** Treat these statuses as success and let the caller read the body (e.g. an API's own error envelope). */
  acceptStatuses?: number[];
  /** A POST that only reads (a query sent as a form): it may be retried like a GET. */
  idempotent?: boolean;
  /** Send no credential of the source with this request, even to its origin (e.g. the login itself). */
  anonymous?: boolean;
}

/** How much of a failed response's body is read (for the message, and so the socket can be reused). */
const ERROR_BODY_DRAIN_BYTES = 64 * 1024;
const ERROR_SNIPPET_CHARS = 300;

/** One try that did not give the caller a response: what the retry policy and the final failure need. */
type FailedTry =
  | {
      kind: 'status';
      outcome: Extract<TryOutcome, { kind: 'status' }>;
      status: number;
      snippet: string;
      rawRetryAfter: string | null;
    }
  | { kind: 'network'; outcome: Extract<TryOutcome, { kind: 'network' }>; error: Error };

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

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

export class HttpClient {
  private readonly deadlines = new WeakMap<Response, IdleDeadline>();
  private readonly budget: RateBudget;
  private readonly timing: RetryTiming;

  /** Every credential value this client was given or has sent: masked in every error it lets out. */
  private readonly secrets = new Set<string>();
  private masker = new SecretMasker([]);
  private readonly auth: RequestAuth;
  /** The bearer login's token: one login per client, i.e. per activity attempt, on first need. */
  private token: Promise<string> | undefined;

  constructor(private readonly options: HttpClientOptions) {
    this.budget = options.rateBudget ?? new LocalRateBudget(options.rateLimitPerSecond);
    this.timing = { ...RETRY_TIMING, ...options.retryTiming };
    this.auth = new RequestAuth(options.auth?.scheme ?? { type: 'none' }, options.auth?.baseUrl ?? '');
    this.learn([...(options.secrets ?? []), ...authSecrets(this.auth.scheme)], true);
    this.learnHeaders(options.headers);
  }

  /**
   * Whether this source's requests carry a credential (its auth_type, with one stored). False when the
   * source runs without one: a connector with a keyless mode (UN Comtrade's preview) reads it here.
   */
  get authenticated(): boolean {
    return this.auth.authenticated;
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

  /**
   * Sends a request; resolves with a 2xx (or accepted) response. Transient failures of an idempotent
   * request are tried again (retry-policy.ts); what remains throws a typed ApplicationFailure.
   */
  async request(url: string, opts: RequestOptions = {}): Promise<Response> {
    this.learnRequest(url, opts);
    try {
      return await this.send(url, opts);
    } catch (err) {
      throw this.redactError(err);
    }
  }

  /** The bearer login's token, logging in on the first call (concurrent callers share it; a failure is not kept). */
  private bearerToken(): Promise<string> | undefined {
    const login = this.auth.login;
    if (!login) return undefined;
    this.token ??= bearerLogin(this, this.options.sourceName, login).then(
      (token) => {
        this.learn([token], true);
        return token;
      },
      (err) => {
        this.token = undefined;
        throw err;
      },
    );
    return this.token;
  }

  /** What a request to `url` sends: the credential applied when it goes to the source's origin. */
  private async outgoing(url: string, opts: RequestOptions, method: string, headers = opts.headers) {
    const base = { 'user-agent': 'tedi-ingest/0.1', ...this.options.headers, ...headers };
    const body = opts.body;
    if (opts.anonymous || !this.auth.covers(url)) {
      return { url, method, headers: base, body, authenticated: false } satisfies Outgoing;
    }
    const applied = this.auth.apply(url, await this.bearerToken());
    // The configured credential wins over a header of the same name a connector may still set.
    return { url: applied.url, method, headers: { ...base, ...applied.headers }, body, authenticated: true };
  }

  /**
   * A network failure or timeout, typed so Temporal retries it with backoff. The message ends with the root
   * cause (code and host, root-cause.ts), which the failure also carries as its details.
   */
  private unavailable(where: string, url: string, err: unknown, tally = ''): ApplicationFailure {
    const { text, facts } = transportCause(err, url);
    return ApplicationFailure.create({
      message: `${where}: ${text}${tally}`,
      type: FailureType.SourceUnavailable,
      details: [facts],
      cause: err as Error,
    });
  }

  private async send(url: string, opts: RequestOptions): Promise<Response> {
    const method = opts.method ?? 'GET';
    const where = `${this.options.sourceName} ${method} ${redactUrl(url)}`;
    let host: string;
    try {
      host = budgetHost(url);
    } catch {
      throw configurationError(`${where}: not a valid URL. Check data_source_configs.base_url and the params.`);
    }
    const { signal, onWait } = this.options;
    // Before the first try: a login that fails says so, and is not counted as this request's tries.
    const out = await this.outgoing(url, opts, method);
    const started = Date.now();
    for (let tries = 1; ; tries++) {
      const slot = await this.budget.reserve(host);
      await wait(slot, { signal, onWait, details: { waiting: 'rate-budget', target: host, delayMs: slot } });
      const failed = await this.tryOnce(out, opts);
      if (failed instanceof Response) return failed;
      const decision = decideRetry({
        outcome: failed.outcome,
        tries,
        maxRetries: this.options.maxRetries ?? 0,
        idempotent: method === 'GET' || opts.idempotent === true,
        timeLeftMs: this.options.deadlineAt === undefined ? undefined : this.options.deadlineAt - Date.now(),
        timing: this.timing,
      });
      // A try the activity's own cancellation cut short is not the source's failure: never retried.
      if (!decision.retry || signal?.aborted) throw this.failure(failed, where, url, tries, Date.now() - started);
      const details: WaitDetails = {
        waiting: 'retry',
        target: `${this.options.sourceName} ${method}`,
        delayMs: decision.delayMs,
        nextTry: tries + 1,
        lastCause:
          failed.kind === 'status' ? `HTTP ${failed.status}` : this.redact(transportCause(failed.error, url).text),
      };
      await wait(decision.delayMs, { signal, onWait, details });
    }
  }

  /**
   * Sends `out`. An authenticated request follows its redirects by hand: to the same origin with the
   * credential again, to another origin without any of it (fetch would forward a key header or keep the
   * key in a query it copies), so the credential never reaches a host it was not configured for.
   */
  private async fetchOnce(out: Outgoing, opts: RequestOptions, signal: AbortSignal): Promise<Response> {
    if (!out.authenticated) return fetch(out.url, { method: out.method, headers: out.headers, body: out.body, signal });
    let next = out;
    for (let hops = 0; ; hops++) {
      const res = await fetch(next.url, {
        method: next.method,
        headers: next.headers,
        body: next.body,
        signal,
        redirect: 'manual',
      });
      const location = res.headers.get('location');
      if (!REDIRECT_STATUSES.has(res.status) || location === null || hops >= MAX_REDIRECTS) return res;
      await res.body?.cancel().catch(() => undefined);
      const target = new URL(location, next.url).toString();
      // As fetch does (RFC 9110 15.4): 303, and 301/302 after a POST, become a GET without a body.
      const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && next.method === 'POST');
      const method = toGet ? 'GET' : next.method;
      const headers = { ...opts.headers };
      if (toGet) for (const name of Object.keys(headers)) if (/^content-/i.test(name)) delete headers[name];
      next = await this.outgoing(target, { ...opts, body: toGet ? undefined : next.body }, method, headers);
    }
  }

  /** One try: the response when the caller gets it, otherwise what went wrong (its body drained). */
  private async tryOnce(out: Outgoing, opts: RequestOptions): Promise<Response | FailedTry> {
    const deadline = new IdleDeadline(this.options.timeoutMs);
    const signals = [deadline.controller.signal];
    if (this.options.signal) signals.push(this.options.signal);
    let res: Response;
    try {
      res = await this.fetchOnce(out, opts, AbortSignal.any(signals));
    } catch (err) {
      deadline.clear();
      const error = (err as Error)?.name === 'AbortError' ? (deadline.controller.signal.reason ?? err) : err;
      return { kind: 'network', outcome: { kind: 'network' }, error: error as Error };
    }
    deadline.touch();
    if (res.ok || opts.acceptStatuses?.includes(res.status)) {
      this.deadlines.set(res, deadline);
      return res;
    }
    const snippet = (await this.drain(res)).replace(/\s+/g, ' ');
    deadline.clear();
    const rawRetryAfter = res.headers.get('retry-after');
    const outcome: FailedTry['outcome'] = {
      kind: 'status',
      status: res.status,
      hasRetryAfter: rawRetryAfter !== null,
      retryAfterMs: parseRetryAfter(rawRetryAfter),
    };
    return { kind: 'status', outcome, status: res.status, snippet, rawRetryAfter };
  }

  /**
   * The start of a failed response's body, for the message. A small body is read to its end, so the
   * connection goes back to the pool for the next try; a large one is cancelled (the socket closes) rather
   * than downloaded for nothing.
   */
  private async drain(res: Response): Promise<string> {
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    try {
      while (bytes <= ERROR_BODY_DRAIN_BYTES) {
        const { done, value } = await reader.read();
        if (done) break;
        if (bytes < ERROR_SNIPPET_CHARS * 4) chunks.push(value);
        bytes += value.byteLength;
      }
      if (bytes > ERROR_BODY_DRAIN_BYTES) await reader.cancel().catch(() => undefined);
    } catch {
      // A body that breaks off is still a failed response; the status says enough.
    } finally {
      reader.releaseLock();
    }
    return new TextDecoder().decode(Buffer.concat(chunks)).slice(0, ERROR_SNIPPET_CHARS);
  }

  /** The typed failure of the last try, with how many tries were made and over how long. */
  private failure(failed: FailedTry, where: string, url: string, tries: number, elapsedMs: number): ApplicationFailure {
    const tally = tries > 1 ? ` after ${tries} tries over ${seconds(elapsedMs)} s` : '';
    if (failed.kind === 'network') return this.unavailable(where, url, failed.error, tally);
    const { status, snippet } = failed;
    const detail = `${where} answered HTTP ${status}${tally}${snippet ? `: ${snippet}` : ''}`;
    const details = [httpCause(status, url, this.redact(snippet))];
    if (status === 429 || (status === 403 && failed.rawRetryAfter !== null)) {
      const delay = failed.outcome.retryAfterMs;
      return ApplicationFailure.create({
        message: `${detail} (rate limited; retrying after ${delay === undefined ? 'backoff' : `${delay} ms`})`,
        type: FailureType.RateLimited,
        nextRetryDelay: delay,
        details,
      });
    }
    const retryable = status >= 500 || status === 408;
    const type = retryable ? FailureType.SourceUnavailable : FailureType.SourceRejected;
    return ApplicationFailure.create({ message: detail, type, nonRetryable: !retryable, details });
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
        this.unavailable(`${this.options.sourceName} ${redactUrl(res.url)} (while reading the body)`, res.url, reason),
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
