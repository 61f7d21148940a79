// A failure whose text contains a secret (an API echoing the key back, a URL with the key) is rebuilt
// with the secret masked, keeping its type and retry behaviour, before it can reach workflow history.
import { ApplicationFailure } from '@temporalio/common';

export function withoutSecret(err: unknown, secret: string | undefined): unknown {
  if (!secret || !(err instanceof Error)) return err;
  const texts = [err.message, err.stack, (err.cause as Error | undefined)?.message];
  if (!texts.some((t) => t?.includes(secret))) return err;
  const message = err.message.split(secret).join('***');
  if (!(err instanceof ApplicationFailure)) return new Error(message);
  return new ApplicationFailure(message, err.type, err.nonRetryable, undefined, undefined, err.nextRetryDelay);
}
