// FAOSTAT API route: since 2025 the API needs a (free) FAOSTAT account: a login, POST {base}/auth/login
// with a form body (username, password), answered with a Cognito-style {"AuthenticationResult":
// {"AccessToken":…}} (a bad login is {"__type":"NotAuthorizedException",…} with HTTP 400/401), then every
// call with that bearer token. The login and the token are not this module's business: the source's
// configuration declares them (auth_type bearer, bearer_login_url 'auth/login', username, the password as
// the stored key) and the HttpClient logs in once per activity attempt and sends the token
// (sources/kit/http/auth.ts). The data answer {"metadata":…,"data":[{…}]} is parsed as a stream and only the
// records of "data" are kept, one at a time.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import parserStream from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { z } from 'zod';
import { configurationError, invalidPayload } from '../../../lib/failures';
import { decodeText } from '../../kit/encoding';
import type { ProbeResult, SourceContext } from '../../kit/types';
import { formatIssues } from '../../kit/zod-issues';
import { asPayloadError } from './errors';
import type { FaostatParams } from './params';

type Ctx = SourceContext<FaostatParams>;

const LANGUAGE = 'en';

const DomainsSchema = z.object({ data: z.array(z.unknown()) });
const DomainSchema = z.object({ code: z.string(), date_update: z.string().trim().min(1, 'is empty') });

/** The api route with no credential configured (auth_type none): say how to set the account up. */
function requireAccount(ctx: Ctx): void {
  if (ctx.http.authenticated) return;
  throw configurationError(
    `${ctx.sourceName}: the FAOSTAT api route needs an account, and the source sends none ` +
      "(data_source_configs.auth_type is 'none'). Set auth_type 'bearer' with bearer_login_url 'auth/login', " +
      `then store the account with \`npm run tedi -- set-key ${ctx.sourceName} --username <account e-mail>\` ` +
      '(it reads the password as the key); or set params.route to "bulk", which needs no account.',
  );
}

/** Release date of the domain in the API's domain list: the API route's change signal. */
export async function probeApi(ctx: Ctx): Promise<ProbeResult> {
  requireAccount(ctx);
  const url = `${ctx.baseUrl}/${LANGUAGE}/domains`;
  const parsed = DomainsSchema.safeParse(await ctx.http.getJson(url));
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
  requireAccount(ctx);
  const url = apiDataUrl(ctx);
  const where = `FAOSTAT ${ctx.params.datasetCode} data ${url}`;
  const res = await ctx.http.request(url, { headers: { accept: 'application/json' } });

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
