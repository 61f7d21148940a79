// Failures whose text may contain a secret (an API echoing the key back, a URL with the key) are masked
// before they can reach workflow history or the audit log, keeping their type and retry behaviour.
// The rule itself (every occurrence, every encoding, truncated echoes) is lib/redact.ts; this file only
// applies it at the connector boundary.
import { redactError } from '../../lib/redact';
import type { Connector, SourceContext } from './types';

/** `err` with every form of `secret` masked (message, stack, cause chain), in place. */
export function withoutSecret(err: unknown, secret: string | undefined): unknown {
  return redactError(err, [secret]);
}

/** What masks a failure: the ingestion's HTTP client, which knows every credential its requests carried. */
export interface ErrorMasker {
  redactError<T>(err: T): T;
}

/**
 * The connector as the pipeline sees it: every failure of probe, fetch and transform (rejected rows'
 * reasons included) leaves with the credentials masked, whoever built its message, so no connector has
 * to remember to do it. Everything else is the connector's own (read through the prototype).
 */
export function maskingConnector<P, R>(connector: Connector<P, R>, masker: ErrorMasker): Connector<P, R> {
  const mask = (err: unknown) => masker.redactError(err);
  const masked: Connector<P, R> = Object.create(connector);
  masked.probe = async (ctx: SourceContext<P>) => {
    try {
      return await connector.probe(ctx);
    } catch (err) {
      throw mask(err);
    }
  };
  masked.fetch = (ctx: SourceContext<P>) =>
    (async function* () {
      try {
        yield* connector.fetch(ctx);
      } catch (err) {
        throw mask(err);
      }
    })();
  masked.transform = (raw: unknown, params: P) => {
    try {
      return connector.transform(raw, params);
    } catch (err) {
      throw mask(err);
    }
  };
  return masked;
}
