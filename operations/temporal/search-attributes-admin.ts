// Registers TEDI's search attributes on a server that was not started by us (compose, a shared
// cluster). Idempotent: only missing attributes are added.
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes';

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  // The Java time-skipping test server cannot list attributes; adding them all is then the idempotent path.
  const existing = await connection.operatorService.listSearchAttributes({ namespace }).catch((err) => {
    if (err?.code === 12 /* UNIMPLEMENTED */) return { customAttributes: {} };
    throw err;
  });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.map((k) => k.name).filter((name) => !known.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  return missing;
}
