// Small assertions every connector test needs.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from '../../lib/failures';

/** Drains an async iterable (a connector's fetch) into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Asserts `action` (a promise, or a function that throws) fails with an ApplicationFailure of `type`. */
export async function assertFailure(
  action: Promise<unknown> | (() => unknown),
  type: FailureType,
  check: (failure: ApplicationFailure) => void = () => {},
): Promise<void> {
  const run = typeof action === 'function' ? async () => action() : action;
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    check(err);
    return true;
  });
}
