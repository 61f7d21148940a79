// FAOSTAT API route: since 2025 the API needs a (free) FAOSTAT account. Every call follows a login,
// POST {base}/auth/login with a form body (username, password), answered with a Cognito-style
// {"AuthenticationResult":{"AccessToken":…}}; a bad login is {"__type":"NotAuthorizedException",…} with
// HTTP 400/401. The data answer {"metadata":…,"data":[{…}]} is parsed as a stream and only the records of
// "data" are kept, one at a time. The account password is the source's API key: it only ever goes into the
// login body, never into a message.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import parserStream from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { z } from 'zod';
import { configurationError, FailureType, invalidPayload } from '../../../lib/failures';
import { redactSecrets } from '../../../lib/redact';
import { decodeText } from '../../kit/encoding';
import type { ProbeResult, SourceContext } from '../../kit/types';
import { formatIssues } from '../../kit/zod-issues';
import { asPayloadError } from './errors';
import type { FaostatParams } from './params';

type Ctx = SourceContext<FaostatParams>;

const LANGUAGE = 'en';

const HOW_TO_SET_CREDENTIALS =
  'Set the FAOSTAT account on the source config: data_source_configs.username = the account e-mail and its ' +
  'API key (api_key_encrypted, sealed with TEDI_SECRET_KEY) = the account password; or set params.route to ' +
  '"bulk", which needs no account.';

const LoginSchema = z.object({ AuthenticationResult: z.object({ AccessToken: z.string().min(1) }) });
const LoginErrorSchema = z.object({ __type: z.string().optional(), message: z.string().optional() });
const DomainsSchema = z.object({ data: z.array(z.unknown()) });
const DomainSchema = z.object({ code: z.string(), date_update: z.string().trim().min(1, 'is empty') });

interface Account {
  username: string;
  password: string;
}

function account(ctx: Ctx): Account {
  const { username, apiKey } = ctx.credentials;
  if (!username || !apiKey) {
    throw configurationError(
      `${ctx.sourceName}: the FAOSTAT api route needs an account, and ${!username ? 'no username' : 'no password'} is set. ${HOW_TO_SET_CREDENTIALS}`,
    );
  }
  return { username, password: apiKey };
}

/** Defence in depth: a server that echoes the request must not put the password into a message (any encoding). */
function redact(text: string, secret: string): string {
  return redactSecrets(text, [secret]);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidPayload(`${where} did not return JSON (starts with ${JSON.stringify(text.slice(0, 80))})`);
  }
}

/** Logs in and returns the bearer token. */
async function login(ctx: Ctx): Promise<string> {
  const { username, password } = account(ctx);
  const where = `FAOSTAT login ${ctx.baseUrl}/auth/login`;
  const res = await ctx.http.request(`${ctx.baseUrl}/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    acceptStatuses: [400, 401, 403],
  });
  const text = redact(await ctx.http.readText(res), password);
  if (!res.ok) {
    const envelope = LoginErrorSchema.safeParse(
      (() => {
        try {
          return JSON.parse(text);
        } catch {
          return null;
        }
      })(),
    );
    const reason = envelope.success
      ? [envelope.data.__type, envelope.data.message].filter(Boolean).join(': ')
      : text.slice(0, 200).replace(/\s+/g, ' ');
    throw ApplicationFailure.nonRetryable(
      `${where} refused the account (HTTP ${res.status}${reason ? `: ${reason}` : ''}). ${HOW_TO_SET_CREDENTIALS}`,
      FailureType.SourceRejected,
    );
  }
  const parsed = LoginSchema.safeParse(parseJson(text, where));
  if (!parsed.success) throw invalidPayload(`${where}: unexpected answer: ${formatIssues(parsed.error)}`);
  return parsed.data.AuthenticationResult.AccessToken;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Release date of the domain in the API's domain list: the API route's change signal. */
export async function probeApi(ctx: Ctx): Promise<ProbeResult> {
  const token = await login(ctx);
  const url = `${ctx.baseUrl}/${LANGUAGE}/domains`;
  const parsed = DomainsSchema.safeParse(await ctx.http.getJson(url, { headers: bearer(token) }));
  if (!parsed.success) throw invalidPayload(`FAOSTAT ${url}: not a {"data":[…]} body: ${formatIssues(parsed.error)}`);
  const code = ctx.params.datasetCode;
  const index = parsed.data.data.findIndex((d) => (d as { code?: unknown } | null)?.code === code);
  if (index < 0) {
    throw configurationError(`FAOSTAT ${url} lists no domain "${code}": check params.datasetCode (e.g. "QCL").`);
  }
  const domain = DomainSchema.safeParse(parsed.data.data[index]);
  if (!domain.success) throw invalidPayload(`FAOSTAT ${url}: data[${index}] (${code}): ${formatIssues(domain.error)}`);
  return { token: domain.data.date_update, note: `${code} date_update ${domain.data.date_update}` };
}

export function apiDataUrl(ctx: Ctx): string {
  // null_values=true keeps rows without a value, as the bulk file has them, so both routes store the same rows.
  const query = new URLSearchParams({
    area_cs: 'FAO',
    item_cs: 'FAO',
    show_codes: 'true',
    show_unit: 'true',
    show_flags: 'true',
    show_notes: 'true',
    null_values: 'true',
    output_type: 'objects',
  });
  if (ctx.params.areas.length > 0) query.set('area', ctx.params.areas.join(','));
  return `${ctx.baseUrl}/${LANGUAGE}/data/${ctx.params.datasetCode}?${query}`;
}

interface Token {
  name: string;
  value?: unknown;
}

export async function* fetchApi(ctx: Ctx): AsyncGenerator<unknown> {
  const token = await login(ctx);
  const url = apiDataUrl(ctx);
  const where = `FAOSTAT ${ctx.params.datasetCode} data ${url}`;
  const res = await ctx.http.request(url, { headers: { ...bearer(token), accept: 'application/json' } });

  // Network failures keep the HTTP client's typing (retryable); anything else while parsing is the payload's fault.
  let transportError: unknown;
  async function* body() {
    try {
      yield* ctx.http.stream(res);
    } catch (err) {
      transportError = err;
      throw err;
    }
  }
  // Watches the top-level keys go by, so that a body without "data" fails instead of passing as empty.
  let depth = 0;
  let sawData = false;
  async function* watchTopLevel(tokens: AsyncIterable<Token>) {
    for await (const t of tokens) {
      if (t.name === 'startObject' || t.name === 'startArray') depth++;
      else if (t.name === 'endObject' || t.name === 'endArray') depth--;
      else if (depth === 1 && t.name === 'keyValue' && t.value === 'data') sawData = true;
      yield t;
    }
  }
  const records = streamArray.asStream();
  const parsing = pipeline(
    // Strict UTF-8 (sources/kit/encoding.ts): bytes that are not fail with their offset, never become labels.
    Readable.from(decodeText(body(), { where, json: true })),
    parserStream(),
    watchTopLevel,
    pick.asStream({ filter: 'data' }),
    records,
  );
  // Handled here; a failure still surfaces through the loop below or the await after it.
  parsing.catch(() => undefined);
  let count = 0;
  try {
    for await (const item of records as AsyncIterable<{ value: unknown }>) {
      count++;
      if (count % 10_000 === 0) ctx.heartbeat({ stage: 'fetch', records: count });
      yield item.value;
    }
    await parsing;
  } catch (err) {
    throw err === transportError ? err : asPayloadError(err, `${where}: not a JSON {"data":[…]} body`);
  } finally {
    records.destroy();
  }
  if (!sawData) throw invalidPayload(`${where}: the body has no "data" array`);
  ctx.log('FAOSTAT API data read', { dataset: ctx.params.datasetCode, records: count });
  // Zero rows is an empty snapshot: the store's guard refuses it, with the connector's hint.
}
