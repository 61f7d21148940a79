// One POST to a receiver TEDI notifies (a change-feed webhook, an alert webhook, a Slack webhook), with the
// outcome in words an operator can act on. The receiver must answer within WEBHOOK_TIMEOUT_MS; redirects
// are not followed (a receiver that moved says so with a 3xx, which counts as a failure).
import { WEBHOOK_TIMEOUT_MS } from '../../lib/webhook-policy';

export interface PostOutcome {
  ms: number;
  /** The HTTP status, or null when there was no answer. */
  status: number | null;
  /** The first 200 characters of the answer's body, whitespace collapsed. */
  text: string;
  /** Why there was no answer ("did not answer within 10 s", "refused the connection", ...), else null. */
  error: string | null;
}

/** How a receiver is named in messages: origin + path, never the query (it may hold a token). */
export function receiverName(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** True for a 2xx answer. */
export const delivered = (o: PostOutcome) => o.status !== null && o.status >= 200 && o.status < 300;

/** The outcome of a failed POST as one phrase: "answered 500: down", "did not answer within 10 s". */
export function failureOf(o: PostOutcome): string {
  return o.error ?? `answered ${o.status}${o.text ? `: ${o.text}` : ''}`;
}

/** How much of an answer is read: enough to explain a refusal, never a receiver's whole body. */
const ANSWER_BYTES = 1024;

/** The first `limit` bytes of a body as text; the rest is never read (the stream is cancelled). */
async function firstBytes(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // An answer cut short still says what it said so far.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export async function postJson(url: string, body: string, headers: Record<string, string>): Promise<PostOutcome> {
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'tedi-ingest/1', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    const text = (await firstBytes(response, ANSWER_BYTES)).slice(0, 200).replace(/\s+/g, ' ').trim();
    return { ms: Date.now() - started, status: response.status, text, error: null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error =
      e.name === 'TimeoutError'
        ? `did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`
        : e.cause?.code === 'ECONNREFUSED'
          ? 'refused the connection'
          : e.cause?.code === 'UND_ERR_SOCKET' || e.cause?.code === 'ECONNRESET'
            ? 'closed the connection before answering'
            : `could not be reached (${e.cause?.code ?? e.message})`;
    return { ms: Date.now() - started, status: null, text: '', error };
  }
}
