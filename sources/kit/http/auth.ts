// How a source's stored credential travels with its requests: decided by its configuration
// (data_source_configs.auth_type and the columns that type uses), in this one module, and applied by the
// HttpClient to every request to the base URL's origin, so no connector places a key itself.
//
//   none      nothing is sent. A stored credential is then the connector's own business (UNIDO's legacy API
//             takes its account in Username/Password headers, which no auth type describes).
//   api_key   the key in the header (api_key_in 'header', the default) or query parameter ('query') that
//             api_key_param names: `Ocp-Apim-Subscription-Key: <key>`, `?api_key=<key>`.
//   bearer    `Authorization: Bearer <token>`. Without bearer_login_url the stored key is the token; with it,
//             the stored key is the account password and the token comes from logging in there (POST, form
//             fields username and password), once per activity attempt, on the attempt's first request that
//             needs it.
//   basic     `Authorization: Basic base64(username:password)`, the password being the stored key.
//
// The credential goes only to the base URL's origin (scheme, host and port): a request elsewhere (FAOSTAT's
// bulk files, a feed URL) and a redirect to another origin carry none of it; the login URL gets only the
// account. Every value sent (key, password, the Basic pair, the token) is masked in every error and log line
// (lib/redact.ts). A configuration that cannot work fails in `resolveAuth`, before any request, as a
// non-retryable ConfigurationError naming the source, the column and the fix, never the secret.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { configurationError, FailureType, invalidPayload } from '../../../lib/failures';
import { redactUrl, redactUrlsInText } from '../../../lib/redact';

export type AuthType = 'none' | 'api_key' | 'bearer' | 'basic';
export type ApiKeyLocation = 'header' | 'query';

/** The auth columns of a data_source_configs row, the credential still sealed. */
export interface AuthConfig {
  authType: AuthType;
  apiKeyParam: string | null;
  apiKeyIn: ApiKeyLocation;
  bearerLoginUrl: string | null;
  username: string | null;
}

/** What a source's requests carry, resolved from its configuration, the secret decrypted. */
export type SourceAuth =
  | { type: 'none' }
  | { type: 'api_key'; location: ApiKeyLocation; param: string; key: string }
  | { type: 'bearer'; token: string }
  | { type: 'bearer_login'; loginUrl: string; username: string; password: string }
  | { type: 'basic'; username: string; password: string };

export const NO_AUTH: SourceAuth = { type: 'none' };

/**
 * A connector that can run without the credential its source's auth_type describes says so here, per run
 * (UN Comtrade's keyless preview, FAOSTAT's bulk route): a source configured with an auth type but no stored
 * credential then runs unauthenticated, and the connector sees `ctx.http.authenticated === false`. Without
 * this, such a source fails before any request, asking for the credential.
 */
export interface CredentialRule<P> {
  credentialOptional(params: P): boolean;
}

export function credentialOptional(connector: object, params: unknown): boolean {
  const rule = (connector as Partial<CredentialRule<unknown>>).credentialOptional;
  return typeof rule === 'function' ? rule.call(connector, params) === true : false;
}

/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const COLUMNS = 'data_source_configs';

const setKey = (source: string, account: boolean) =>
  account
    ? `\`npm run tedi -- set-key ${source} --username <account name>\` (it reads the password as the key)`
    : `\`npm run tedi -- set-key ${source}\``;

/** The login URL as requested: absolute, or a path under the base URL ("auth/login"). */
export function loginUrlOf(baseUrl: string, loginUrl: string): string {
  const trimmed = loginUrl.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return trimmed;
  return `${baseUrl.replace(/\/+$/, '')}/${trimmed.replace(/^\/+/, '')}`;
}

function httpOrigin(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

export interface ResolveAuthInput {
  sourceName: string;
  baseUrl: string;
  config: AuthConfig;
  /** The stored credential (data_source_configs.api_key_encrypted), decrypted; null when none is stored. */
  storedKey: (() => string) | null;
  /** The connector runs without the credential for this run's params (see CredentialRule). */
  credentialOptional: boolean;
}

/**
 * The auth this source's requests carry, or a ConfigurationError (non-retryable, before any request) when
 * the configuration cannot work: an api_key without its parameter name, an auth type without the credential
 * it sends, an account without its user name, a login URL that is not one.
 */
export function resolveAuth(input: ResolveAuthInput): SourceAuth {
  const { sourceName: source, baseUrl, config } = input;
  const type = config.authType;
  if (type === 'none') return NO_AUTH;
  const prefix = `Source "${source}": auth_type is ${type}`;
  if (!httpOrigin(baseUrl)) {
    throw configurationError(
      `${prefix}, which sends the credential to the base URL's origin, but ${COLUMNS}.base_url is not an ` +
        `http(s) URL. Fix base_url, or set auth_type to 'none'.`,
    );
  }
  const login = type === 'bearer' ? config.bearerLoginUrl?.trim() || null : null;
  const account = type === 'basic' || login !== null;

  if (type === 'api_key') {
    const param = config.apiKeyParam?.trim() ?? '';
    const where = config.apiKeyIn === 'query' ? 'query parameter' : 'header';
    if (!param) {
      throw configurationError(
        `${prefix} but ${COLUMNS}.api_key_param is empty: set it to the name of the ${where} the API reads the ` +
          `key from (e.g. 'Ocp-Apim-Subscription-Key' with api_key_in 'header', or 'api_key' with api_key_in 'query').`,
      );
    }
    if (config.apiKeyIn === 'header' ? !HEADER_NAME.test(param) : /[\s&=#]/.test(param)) {
      throw configurationError(
        `${prefix} but ${COLUMNS}.api_key_param ${JSON.stringify(param)} is not a valid ${where} name` +
          `${config.apiKeyIn === 'header' ? " (letters, digits and !#$%&'*+.^_`|~- only)" : ' (no spaces, &, = or #)'}: fix it.`,
      );
    }
  }
  if (login !== null && !httpOrigin(loginUrlOf(baseUrl, login))) {
    throw configurationError(
      `${prefix} with a login, but ${COLUMNS}.bearer_login_url ${JSON.stringify(redactUrlsInText(login))} is neither an http(s) URL ` +
        `nor a path under base_url (e.g. 'auth/login'): fix it, or clear it if the stored key is the token itself.`,
    );
  }

  if (!input.storedKey) {
    if (input.credentialOptional) return NO_AUTH;
    const what = type === 'api_key' ? 'key' : account ? 'password' : 'token';
    throw configurationError(
      `${prefix} but no ${what} is stored (${COLUMNS}.api_key_encrypted is empty): store it with ` +
        `${setKey(source, account)}, or set auth_type to 'none' if the source needs no credential.`,
    );
  }
  if (account) {
    const username = config.username?.trim() ?? '';
    if (!username) {
      throw configurationError(
        `${prefix}${login ? ' with a login' : ''} but ${COLUMNS}.username is empty: store the account with ` +
          `${setKey(source, true)}.`,
      );
    }
    if (type === 'basic' && username.includes(':')) {
      throw configurationError(
        `${prefix} but ${COLUMNS}.username contains ":", which Basic authentication cannot carry: fix it.`,
      );
    }
  }

  const secret = input.storedKey();
  const username = config.username?.trim() ?? '';
  switch (type) {
    case 'api_key':
      return { type, location: config.apiKeyIn, param: config.apiKeyParam!.trim(), key: secret };
    case 'basic':
      return { type, username, password: secret };
    case 'bearer':
      return login
        ? { type: 'bearer_login', loginUrl: loginUrlOf(baseUrl, login), username, password: secret }
        : { type, token: secret };
  }
}

/** How a source's requests are authenticated, for logs and the CLI: never a secret. */
export function describeAuth(auth: SourceAuth): string {
  switch (auth.type) {
    case 'none':
      return 'no credential';
    case 'api_key':
      return `api_key in ${auth.location} ${auth.param}`;
    case 'bearer':
      return 'bearer token';
    case 'bearer_login':
      return `bearer token from a login at ${redactUrl(auth.loginUrl)} as ${auth.username}`;
    case 'basic':
      return `basic as ${auth.username}`;
  }
}

/** The same for a configuration row as stored (the CLI), whether or not a credential is stored. */
export function describeAuthConfig(config: AuthConfig): string {
  switch (config.authType) {
    case 'none':
      return 'none';
    case 'api_key':
      return `api_key in ${config.apiKeyIn} ${config.apiKeyParam?.trim() || '(api_key_param not set)'}`;
    case 'bearer':
      return config.bearerLoginUrl?.trim()
        ? `bearer, token from a login at ${redactUrlsInText(config.bearerLoginUrl.trim())}`
        : 'bearer (the stored key is the token)';
    case 'basic':
      return 'basic';
  }
}

/** Every value the auth sends, to be masked wherever it might be echoed. */
export function authSecrets(auth: SourceAuth): string[] {
  switch (auth.type) {
    case 'none':
      return [];
    case 'api_key':
      return [auth.key];
    case 'bearer':
      return [auth.token];
    case 'bearer_login':
    case 'basic': {
      const pair = `${auth.username}:${auth.password}`;
      return [auth.password, pair, Buffer.from(pair).toString('base64')];
    }
  }
}

/** The auth bound to the origin it is for: what the HttpClient applies to each request. */
export class RequestAuth {
  private readonly origin: string | null;

  constructor(
    readonly scheme: SourceAuth,
    baseUrl: string,
  ) {
    this.origin = httpOrigin(baseUrl);
  }

  /** Whether requests to the source's origin carry a credential. */
  get authenticated(): boolean {
    return this.scheme.type !== 'none' && this.origin !== null;
  }

  /** A credential goes with a request to `url` only when it is the base URL's origin. */
  covers(url: string): boolean {
    return this.authenticated && httpOrigin(url) === this.origin;
  }

  /** The login this auth needs before its first request, if any. */
  get login(): Extract<SourceAuth, { type: 'bearer_login' }> | null {
    return this.scheme.type === 'bearer_login' ? this.scheme : null;
  }

  /**
   * `url` and the headers one request to it carries. `token` is the login's, for bearer_login. A URL
   * outside the origin comes back as it is, with no header.
   */
  apply(url: string, token?: string): { url: string; headers: Record<string, string> } {
    if (!this.covers(url)) return { url, headers: {} };
    const s = this.scheme;
    switch (s.type) {
      case 'none':
        return { url, headers: {} };
      case 'api_key': {
        if (s.location === 'header') return { url, headers: { [s.param]: s.key } };
        const u = new URL(url);
        u.searchParams.set(s.param, s.key);
        return { url: u.toString(), headers: {} };
      }
      case 'bearer':
        return { url, headers: { authorization: `Bearer ${s.token}` } };
      case 'bearer_login':
        if (!token) throw new Error('bearer login: no token yet (the HttpClient logs in before the request)');
        return { url, headers: { authorization: `Bearer ${token}` } };
      case 'basic':
        return {
          url,
          headers: { authorization: `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}` },
        };
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Bearer login

/** What a login needs from the HttpClient: one request outside the source's auth, and its body. */
export interface LoginTransport {
  request(
    url: string,
    opts: {
      method: 'POST';
      body: URLSearchParams;
      acceptStatuses: number[];
      idempotent: boolean;
      anonymous: boolean;
    },
  ): Promise<Response>;
  readText(res: Response): Promise<string>;
}

/** Where logins answer with the token: Cognito (FAOSTAT), OAuth 2.0 (RFC 6749 §5.1), and the plain names. */
const TOKEN_FIELDS = ['AuthenticationResult.AccessToken', 'access_token', 'accessToken', 'token'] as const;
const Token = z.string().trim().min(1);
const RefusalSchema = z.object({
  __type: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
  message: z.string().optional(),
});

function tokenIn(body: unknown): string | null {
  for (const field of TOKEN_FIELDS) {
    let value: unknown = body;
    for (const part of field.split('.')) value = (value as Record<string, unknown> | null)?.[part];
    const token = Token.safeParse(value);
    if (token.success) return token.data;
  }
  return null;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Logs in with the account and returns the bearer token: POST loginUrl with the form fields username and
 * password; the answer is JSON with the token in one of TOKEN_FIELDS. A refusal (HTTP 400, 401, 403) is a
 * non-retryable SourceRejected saying which columns to check; a 5xx or a dropped connection fails as any
 * request does (retried). The caller masks the password and the token in what this throws.
 */
export async function bearerLogin(
  http: LoginTransport,
  sourceName: string,
  login: Extract<SourceAuth, { type: 'bearer_login' }>,
): Promise<string> {
  const where = `${sourceName}: the login at ${redactUrl(login.loginUrl)}`;
  const res = await http.request(login.loginUrl, {
    method: 'POST',
    body: new URLSearchParams({ username: login.username, password: login.password }),
    acceptStatuses: [400, 401, 403],
    // Logging in again changes nothing on the server: safe to retry like a GET.
    idempotent: true,
    // The account goes in the body; no other credential of the source goes with it.
    anonymous: true,
  });
  const text = await http.readText(res);
  const body = parsed(text);
  if (!res.ok) {
    const refusal = RefusalSchema.safeParse(body);
    const reason = refusal.success
      ? [refusal.data.__type ?? refusal.data.error, refusal.data.message ?? refusal.data.error_description]
          .filter(Boolean)
          .join(': ')
      : text.slice(0, 200).replace(/\s+/g, ' ').trim();
    throw ApplicationFailure.nonRetryable(
      `${where} refused the account (HTTP ${res.status}${reason ? `: ${reason}` : ''}). Check ` +
        `${COLUMNS}.username and store the password again with ${setKey(sourceName, true)}.`,
      FailureType.SourceRejected,
    );
  }
  if (body === undefined) {
    throw invalidPayload(`${where} did not answer JSON (starts with ${JSON.stringify(text.slice(0, 80))})`);
  }
  const token = tokenIn(body);
  if (!token) {
    const keys = body && typeof body === 'object' ? Object.keys(body).join(', ') : typeof body;
    throw invalidPayload(
      `${where} answered without a token (looked for ${TOKEN_FIELDS.join(', ')}; the answer has ${keys || 'nothing'})`,
    );
  }
  return token;
}
