// The one masking rule for secrets in text: every message, error and log line that may carry a credential
// goes through here before it leaves the process (workflow history, ingestion_logs, stdout).
//
// A secret is masked wherever it appears, in every spelling a server, a proxy or a library may write it back:
// raw, URL-encoded (encodeURIComponent, encodeURI, form encoding with `+`), JSON-escaped, base64 and base64url
// (padded or not, and inside a longer base64 text at any of the three byte alignments), ASCII case ignored,
// and cut short: any run of at least MIN_PREFIX characters that starts like one of these forms is masked too.
// Workflow-safe: no Node-only imports (Buffer is avoided so workflows could use it as well).

export const MASK = '***';
/** A truncated echo of at least this many characters of a secret (or of one of its encodings) is masked. */
export const MIN_PREFIX = 8;

const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function utf8Bytes(s: string): number[] {
  return Array.from(new TextEncoder().encode(s));
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return out;
}

/**
 * The base64 characters that depend only on the secret when it sits `shift` bytes into a longer text
 * (shift 0, 1, 2 cover every alignment): what a base64-encoded body quoting the secret contains.
 */
function base64Core(bytes: number[], shift: number): string {
  const encoded = base64([...new Array<number>(shift).fill(0), ...bytes]);
  const start = Math.ceil((shift * 8) / 6);
  const end = Math.floor(((shift + bytes.length) * 8) / 6);
  return encoded.slice(start, end);
}

const toBase64Url = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Every spelling of `secret` that the masking looks for (each also matched when cut short). */
export function secretForms(secret: string): string[] {
  const bytes = utf8Bytes(secret);
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    encodeURI(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ]);
  const padded = base64(bytes);
  forms.add(padded);
  forms.add(toBase64Url(padded));
  for (const shift of [0, 1, 2]) {
    const core = base64Core(bytes, shift);
    if (core.length >= Math.min(MIN_PREFIX, padded.length)) {
      forms.add(core);
      forms.add(toBase64Url(core));
    }
  }
  return [...forms].filter((f) => f.length > 0);
}

const usable = (secrets: Iterable<string | null | undefined>): string[] => [
  ...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length > 0)),
];

/** A matcher for a fixed set of secrets, built once (the forms) and applied to any number of texts. */
export class SecretMasker {
  private readonly forms: string[];

  constructor(secrets: Iterable<string | null | undefined>) {
    this.forms = [...new Set(usable(secrets).flatMap(secretForms).map(fold))];
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  /** `text` with every occurrence of every form (and every cut-short prefix of one) replaced by ***. */
  mask(text: string): string {
    if (this.forms.length === 0 || !text) return text;
    const folded = fold(text);
    const spans: Array<[number, number]> = [];
    for (const form of this.forms) {
      const head = form.slice(0, Math.min(MIN_PREFIX, form.length));
      for (let at = folded.indexOf(head); at >= 0; at = folded.indexOf(head, at + 1)) {
        let end = at + head.length;
        while (end - at < form.length && folded[end] === form[end - at]) end++;
        spans.push([at, end]);
      }
    }
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let out = '';
    let pos = 0;
    for (const [start, end] of spans) {
      if (end <= pos) continue;
      if (start > pos) out += text.slice(pos, start);
      if (start >= pos) out += MASK;
      pos = end;
    }
    return out + text.slice(pos);
  }

  /**
   * Masks an error in place, keeping its class, type and retry behaviour: message, stack, every other
   * string property (pg's `detail`, Node's `address`…), ApplicationFailure `details`, and the whole
   * `cause` chain (and AggregateError `errors`), which Temporal serializes into history as well.
   */
  maskError<T>(err: T): T {
    if (this.forms.length === 0) return err;
    if (typeof err === 'string') return this.mask(err) as T;
    const seen = new Set<unknown>();
    const visit = (value: unknown, depth: number): unknown => {
      if (typeof value === 'string') return this.mask(value);
      if (depth > 16 || value === null || typeof value !== 'object' || seen.has(value)) return value;
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) value[i] = visit(value[i], depth + 1);
        return value;
      }
      if (!(value instanceof Error)) return value;
      const e = value as Error & Record<string, unknown>;
      for (const key of new Set(['message', 'stack', 'cause', 'errors', ...Object.keys(e)])) {
        const current = e[key];
        const next = key === 'cause' || key === 'errors' || key === 'details' ? visit(current, depth + 1) : current;
        const masked = typeof next === 'string' ? this.mask(next) : next;
        if (masked !== current) setProperty(e, key, masked);
      }
      return e;
    };
    return visit(err, 0) as T;
  }
}

function setProperty(target: object, key: string, value: unknown): void {
  try {
    (target as Record<string, unknown>)[key] = value;
    if ((target as Record<string, unknown>)[key] === value) return;
  } catch {
    // a read-only property: redefine it below
  }
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
  } catch {
    // a frozen error keeps its text; nothing more can be done here
  }
}

/** `text` with every form of every secret masked. */
export function redactSecrets(text: string, secrets: Iterable<string | null | undefined>): string {
  return new SecretMasker(secrets).mask(text);
}

/** `err` (and its cause chain) with every form of every secret masked, in place; class and type kept. */
export function redactError<T>(err: T, secrets: Iterable<string | null | undefined>): T {
  return new SecretMasker(secrets).maskError(err);
}

/** Query parameter names that carry credentials. */
export const CREDENTIAL_NAME = /key|token|secret|password|passwd|pwd|signature|auth|credential|session/i;

/** A URL for a message: the password of `user:password@` and credential query parameters replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = MASK;
    for (const key of [...u.searchParams.keys()]) {
      if (CREDENTIAL_NAME.test(key)) u.searchParams.set(key, MASK);
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/**
 * Masks URL credentials anywhere in free text, parseable or not (a bad DATABASE_URL, a connection string in
 * an error): `scheme://user:password@` keeps only the user, and `?token=…` style parameters lose their value.
 * The password runs to the last `@` before whitespace (a password may hold `@` or `/` unencoded), so this is
 * for single values and short messages, not for structured text such as a JSON log line.
 */
export function redactUrlsInText(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):[^\s]*@/gi, `$1:${MASK}@`)
    .replace(new RegExp(`([?&;][^=&\\s#]*(?:${CREDENTIAL_NAME.source})[^=&\\s#]*=)[^&\\s#]*`, 'gi'), `$1${MASK}`);
}
