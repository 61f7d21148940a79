// What really went wrong with a request, in one place. undici reports every transport failure as
// "fetch failed" and keeps the reason (getaddrinfo ENOTFOUND, ECONNREFUSED, a TLS refusal) one or two
// `cause` levels down, where every later layer (the activity failure, the log row, the memo, the CLI)
// loses it. Here the chain is walked once and the reason becomes a short text with the system code and the
// host, plus structured facts (lib/failures.ts FailureFacts) the failure carries as its details, so the
// workflow can put the code, host and status in the run's memo without parsing messages.
import type { FailureFacts } from '../../../lib/failures';

/** The words for a code an operator should not have to look up. TLS codes are OpenSSL's. */
const TRANSPORT_WORDS: Record<string, string> = {
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server before it answered',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the body',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  CERT_NOT_YET_VALID: 'TLS certificate not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate chain incomplete',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate issuer unknown',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain is self-signed',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate is for another host',
};

type CodedError = Error & { code?: unknown; errors?: unknown };

/** The request's host as the budget and operators name it: host[:port], or the raw URL if unparseable. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The innermost error of the chain that still says something (AggregateError: its first error). */
function rootOf(err: unknown): CodedError | undefined {
  let root = err as CodedError | undefined;
  const seen = new Set<unknown>();
  for (;;) {
    if (!root || seen.has(root)) return root;
    seen.add(root);
    const inner = root.cause instanceof Error ? root.cause : firstOf(root.errors);
    if (!(inner instanceof Error)) return root;
    root = inner as CodedError;
  }
}

function firstOf(errors: unknown): unknown {
  return Array.isArray(errors) ? errors[0] : undefined;
}

/** The system or TLS code of the chain: the deepest one set (AggregateError sets it on itself too). */
function codeOf(err: unknown): string | undefined {
  let code: string | undefined;
  let e = err as CodedError | undefined;
  const seen = new Set<unknown>();
  while (e instanceof Error && !seen.has(e)) {
    seen.add(e);
    if (typeof e.code === 'string') code = e.code;
    e = (e.cause instanceof Error ? e.cause : firstOf(e.errors)) as CodedError | undefined;
  }
  return code;
}

/**
 * A failure with no response: `host not found (ENOTFOUND api.example.invalid)`,
 * `TLS certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT 127.0.0.1:8443: self-signed certificate)`.
 * The client's own idle timeout (an Error named TimeoutError) counts as ETIMEDOUT.
 */
export function transportCause(err: unknown, url: string): { text: string; facts: FailureFacts } {
  const host = hostOf(url);
  const root = rootOf(err);
  const timeout = (err as Error)?.name === 'TimeoutError' || root?.name === 'TimeoutError';
  const code = codeOf(err) ?? (timeout ? 'ETIMEDOUT' : undefined);
  const detail = root?.message ?? String(err);
  const words = code ? TRANSPORT_WORDS[code] : undefined;
  if (!code) return { text: `${detail} (${host})`, facts: { host } };
  const facts = { code, host };
  // The client's own words ("timed out after 800 ms without data") already say it, with the numbers.
  if (words && detail.startsWith(words)) return { text: `${detail} (${code} ${host})`, facts };
  // The library's words add something only when they are not the code again ("getaddrinfo ENOTFOUND x").
  const extra = detail.includes(code) ? '' : `: ${detail}`;
  return { text: `${words ?? 'request failed'} (${code} ${host}${extra})`, facts };
}

/** A response that was not what the caller accepts: the status and the first bytes of its body. */
export function httpCause(status: number, url: string, snippet: string): FailureFacts {
  return { code: `HTTP ${status}`, host: hostOf(url), status, ...(snippet ? { body: snippet } : {}) };
}
