// Classifying failures while reading a downloaded body: the bytes are already here, so a parse error
// (bad zip, bad deflate data, bad CSV or JSON) means the payload is wrong and a retry cannot help, while a
// system error (disk full, I/O) or a failure the HTTP client already typed keeps its own retry behaviour.
import { ApplicationFailure } from '@temporalio/common';
import { invalidPayload } from '../../../lib/failures';

export function asPayloadError(err: unknown, where: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') return err;
  return invalidPayload(`${where}: ${err instanceof Error ? err.message : String(err)}`);
}
