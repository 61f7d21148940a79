// FAOSTAT API route: since 2025 the API needs a (free) FAOSTAT account: a login, POST {base}/auth/login
// with a form body (username, password), answered with a Cognito-style {"AuthenticationResult":
// {"AccessToken":…}} (a bad login is {"__type":"NotAuthorizedException",…} with HTTP 400/401), then every
// call with that bearer token. The login and the token are not this module's business: the source's
// configuration declares them (auth_type bearer, bearer_login_url 'auth/login', username, the password as
// the stored key) and the HttpClient logs in once per activity attempt and sends the token
// (sources/kit/http/auth.ts). The data answer {"metadata":…,"data":[{…}]} is parsed as a stream and only the
// records of "data" are kept, one at a time.
import { z } from 'zod';
import { configurationError } from '../../../lib/failures';
import { arrayRecords } from '../../kit/json-stream';
import { payloadOf } from '../../kit/refusals';
import type { ProbeResult, SourceContext } from '../../kit/types';
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
  const { data } = payloadOf(DomainsSchema, await ctx.http.getJson(url), `FAOSTAT ${url}: not a {"data":[…]} body`);
  const code = ctx.params.datasetCode;
  const index = data.findIndex((d) => (d as { code?: unknown } | null)?.code === code);
  if (index < 0) {
    throw configurationError(`FAOSTAT ${url} lists no domain "${code}": check params.datasetCode (e.g. "QCL").`);
  }
  const domain = payloadOf(DomainSchema, data[index], `FAOSTAT ${url}: data[${index}] (${code})`);
  return { token: domain.date_update, note: `${code} date_update ${domain.date_update}` };
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

export async function* fetchApi(ctx: Ctx): AsyncGenerator<unknown> {
  requireAccount(ctx);
  const url = apiDataUrl(ctx);
  const res = await ctx.http.request(url, { headers: { accept: 'application/json' } });
  // The records of "data", one at a time, numbers as the API writes them (sources/kit/json-stream.ts).
  const records = arrayRecords(ctx.http.stream(res), {
    at: ['data'],
    where: `FAOSTAT ${ctx.params.datasetCode} data ${url}: not a JSON {"data":[…]} body`,
    numbers: 'number',
    required: true,
  });
  let count = 0;
  for await (const record of records) {
    count++;
    if (count % 10_000 === 0) ctx.heartbeat({ stage: 'fetch', records: count });
    yield record;
  }
  ctx.log('FAOSTAT API data read', { dataset: ctx.params.datasetCode, records: count });
  // Zero rows is an empty snapshot: the store's guard refuses it, with the connector's hint.
}
