// The host rate budget on a real PostgreSQL (test/helpers/database.ts): slots spaced 1/rate apart per
// host, shared by every source on the host and by every pool (a pool per worker process), a declared
// host rate shared while each source keeps its own cap, no reservation lost under concurrency, no lock
// held while a caller waits, one round trip per request. Across real processes:
// test/e2e/host-rate-budget.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { FailureType } from '../../lib/failures';
import { PostgresRateBudget } from '../../sources/kit/http/pg-rate-budget';
import { budgetHost, LocalRateBudget } from '../../sources/kit/http/rate-budget';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
let poolA: Pool;
let poolB: Pool;

before(async () => {
  database = await startTestDatabase();
  poolA = new Pool({ connectionString: database.url, max: 5 });
  poolB = new Pool({ connectionString: database.url, max: 5 });
  for (const pool of [poolA, poolB]) pool.on('error', () => undefined);
});
after(async () => {
  await poolA?.end();
  await poolB?.end();
  await database?.stop();
});

/** A host no other test uses, so each test starts from an idle budget. */
const freshHost = () => `h-${randomUUID().slice(0, 8)}.example:8080`;
const budget = (pool: Pool, sourceName: string, requestsPerSecond: number) =>
  new PostgresRateBudget(pool, { sourceName: `${sourceName}-${randomUUID().slice(0, 8)}`, requestsPerSecond });

/** When the reserved slot is, on this process's clock: the moment the answer came plus the delay. */
async function slotAt(b: PostgresRateBudget, host: string): Promise<number> {
  const delay = await b.reserve(host);
  return Date.now() + delay;
}

function gaps(times: number[]): number[] {
  const sorted = [...times].sort((x, y) => x - y);
  return sorted.slice(1).map((t, i) => t - sorted[i]!);
}

/** Each gap within [expected - 10 ms, expected + 40 ms]: round-trip jitter on a busy 2-core machine. */
function assertGaps(times: number[], expected: number, what: string): void {
  for (const g of gaps(times)) {
    assert.ok(g >= expected - 10 && g <= expected + 40, `${what}: gap ${g} ms, expected ${expected} (${gaps(times)})`);
  }
}

describe('the budget key', () => {
  test("a URL's host as a Host header names it: lower-case, port only when not the default", () => {
    assert.equal(budgetHost('https://API.WorldBank.org/v2/country'), 'api.worldbank.org');
    assert.equal(budgetHost('https://api.worldbank.org:443/v2'), 'api.worldbank.org');
    assert.equal(budgetHost('http://api.worldbank.org:443/v2'), 'api.worldbank.org:443');
    assert.equal(budgetHost('http://127.0.0.1:8080/x?key=1'), '127.0.0.1:8080');
    assert.equal(budgetHost('https://user:pw@fenixservices.fao.org/faostat'), 'fenixservices.fao.org');
  });
});

describe('in-process budget (unit tests of the client only)', () => {
  test('spaces requests to a host 1/rate apart, each host on its own', async () => {
    let now = 1000;
    const local = new LocalRateBudget(4, () => now);
    assert.deepEqual([await local.reserve('a'), await local.reserve('a'), await local.reserve('b')], [0, 250, 0]);
    now += 1000;
    assert.equal(await local.reserve('a'), 0, 'an idle host saves up no burst');
  });
});

describe('PostgreSQL budget', () => {
  test('one source: slots 1/rate apart, the first at once', async () => {
    const host = freshHost();
    const b = budget(poolA, 'solo', 10);
    assert.ok((await b.reserve(host)) < 20, 'an idle host answers at once');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await slotAt(b, host));
    assertGaps(times, 100, '10 requests/s');
  });

  test('a host with no row: every source on it shares it, at each source own rate', async () => {
    const host = freshHost();
    const a = budget(poolA, 'a', 10);
    const b = budget(poolB, 'b', 10);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await slotAt(a, host), await slotAt(b, host));
    assertGaps(times, 100, 'two sources at 10/s on one host: 10/s together, not 20/s');
    // Another host is another budget (for a source that has not just spent its own).
    assert.ok((await budget(poolA, 'c', 10).reserve(freshHost())) < 20);
  });

  test('a declared host rate is shared by all sources; each source still keeps its own cap', async () => {
    const host = freshHost();
    await poolA.query('INSERT INTO host_rate_limits (host, requests_per_second) VALUES ($1, 20)', [host]);
    const fast1 = budget(poolA, 'fast1', 1000);
    const fast2 = budget(poolB, 'fast2', 1000);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await slotAt(fast1, host), await slotAt(fast2, host));
    assertGaps(times, 50, 'sources at 1000/s on a host declared at 20/s');

    const slow = budget(poolA, 'slow', 5);
    const first = await slotAt(slow, host);
    const between = await slotAt(fast1, host);
    const second = await slotAt(slow, host);
    assert.ok(second - first >= 190, `a 5/s source waits its own 200 ms (got ${second - first})`);
    assert.ok(between - first < 100, `while a 1000/s source goes at the host's pace (${between - first} ms)`);
  });

  test('concurrent reservations from two pools: none lost, none doubled', async () => {
    const host = freshHost();
    const spacingMs = 20;
    const a = budget(poolA, 'ca', 1000 / spacingMs);
    const b = budget(poolB, 'cb', 1000 / spacingMs);
    const { rows } = await poolA.query<{ t0: number }>('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS t0');
    const t0 = Number(rows[0]!.t0);
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => (i % 2 ? a : b).reserve(host)));
    const { rows: slot } = await poolA.query<{ next: number }>(
      `SELECT extract(epoch FROM next_slot_at) * 1000 AS next FROM rate_budget_slots WHERE bucket = $1`,
      [`host:${host}`],
    );
    const span = Number(slot[0]!.next) - t0;
    // Each of the n reservations moved the host's slot on by exactly one spacing, from a start after t0.
    assert.ok(span >= n * spacingMs, `${n} reservations span ${span} ms: one was lost`);
    assert.ok(span <= n * spacingMs + 500, `${n} reservations span ${span} ms: slots were skipped`);
  });

  test('no lock is held while a caller waits: a slot 10 s ahead is answered at once, and others still get theirs', async () => {
    const host = freshHost();
    const slow = budget(poolA, 'slow', 0.1);
    await slow.reserve(host);
    const started = Date.now();
    const delay = await slow.reserve(host);
    assert.ok(delay > 9_500 && delay <= 10_000, `delay ${delay} ms`);
    const other = await budget(poolB, 'other', 1000).reserve(freshHost());
    assert.ok(other < 20);
    assert.ok(Date.now() - started < 1000, 'the reservation returned instead of sleeping in the database');
  });

  test('one round trip per request once the rows exist', async () => {
    let queries = 0;
    const counting = {
      query: (...args: Parameters<Pool['query']>) => {
        queries++;
        return poolA.query(...args);
      },
    };
    const b = new PostgresRateBudget(counting as unknown as Pool, { sourceName: 'rt', requestsPerSecond: 1000 });
    const host = freshHost();
    await b.reserve(host);
    assert.equal(queries, 3, "a bucket's first request creates its rows (try, create, reserve)");
    for (let i = 0; i < 5; i++) await b.reserve(host);
    assert.equal(queries, 8, 'then one statement each');
  });

  test('a rate that cannot be a budget is a ConfigurationError naming what to fix', async () => {
    for (const bad of ['0', '-1', 'NaN', 'Infinity']) {
      const host = freshHost();
      await poolA.query('INSERT INTO host_rate_limits (host, requests_per_second) VALUES ($1, $2::float8)', [
        host,
        bad,
      ]);
      await assert.rejects(budget(poolA, 'x', 1).reserve(host), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure && err.type === FailureType.ConfigurationError);
        assert.match(err.message, new RegExp(`host_rate_limits declares ${bad} requests per second for ${host}`));
        return true;
      });
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => budget(poolA, 'x', bad), /rate_limit_per_second/);
    }
  });
});
