// Broken bodies are typed failures, never untyped errors that Temporal would retry five times: a few
// hundred deterministic mutations (flipped bytes, cuts, inserted garbage) of a valid FAOSTAT bulk zip and
// of a valid ILOSTAT CSV, each read through the connector over loopback HTTP. Every outcome must be
// rows, or an ApplicationFailure whose type says what went wrong; and every ApplicationFailure of a body
// we already hold must be non-retryable.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { faostatConnector } from '../../sources/specs/faostat';
import { ilostatConnector } from '../../sources/specs/ilostat';
import { CATALOGUE_PATH, createFaostatFixture } from '../fixtures/faostat';
import { type FixtureHandler, type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { createIlostatFixture, UNEMPLOYMENT } from '../fixtures/ilostat';
import { collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

const MUTATIONS = 150;

/** A small deterministic PRNG (mulberry32), so a failing mutation can be replayed by its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(body: Buffer, seed: number): Buffer {
  const random = prng(seed);
  const at = () => Math.floor(random() * body.length);
  switch (seed % 3) {
    case 0: {
      const out = Buffer.from(body);
      for (let i = 0; i < 1 + Math.floor(random() * 6); i++) out[at()] = Math.floor(random() * 256);
      return out;
    }
    case 1:
      return body.subarray(0, at());
    default: {
      const garbage = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256)),
      );
      const cut = at();
      return Buffer.concat([body.subarray(0, cut), garbage, body.subarray(cut)]);
    }
  }
}

let server: FixtureServer;
let handler: FixtureHandler;
before(async () => {
  server = await startFixtureServer((req) => handler(req));
});
after(async () => {
  await server?.close();
});

/** Reads with the connector; returns "rows" or the failure type; throws on an untyped error. */
async function outcome(run: () => Promise<unknown[]>, seed: number): Promise<string> {
  try {
    await run();
    return 'rows';
  } catch (err) {
    if (!(err instanceof ApplicationFailure)) {
      throw new Error(`mutation ${seed}: untyped ${(err as Error)?.name}: ${(err as Error)?.message}`);
    }
    assert.equal(err.nonRetryable, true, `mutation ${seed}: ${err.type} must not be retried: ${err.message}`);
    return err.type ?? 'untyped ApplicationFailure';
  }
}

test(`${MUTATIONS} mutated FAOSTAT bulk zips: rows or a typed, non-retried failure`, async () => {
  const fao = createFaostatFixture();
  fao.publicUrl = server.url;
  const valid = await fao.zip();
  handler = fao.handler;
  const seen = new Map<string, number>();
  for (let seed = 1; seed <= MUTATIONS; seed++) {
    fao.zipOverride = mutate(valid, seed);
    const ctx = testSourceContext(faostatConnector, {
      baseUrl: server.url,
      params: { bulkCatalogUrl: CATALOGUE_PATH.slice(1) },
    });
    const type = await outcome(() => collect(faostatConnector.fetch(ctx)), seed);
    seen.set(type, (seen.get(type) ?? 0) + 1);
  }
  assert.ok((seen.get('InvalidPayload') ?? 0) > MUTATIONS / 2, JSON.stringify([...seen]));
});

test(`${MUTATIONS} mutated ILOSTAT CSV bodies: rows or a typed, non-retried failure`, async () => {
  const ilo = createIlostatFixture();
  const valid = Buffer.from(
    (
      await ilo.handler({
        method: 'GET',
        path: '/data/indicator/',
        query: new URLSearchParams({ id: UNEMPLOYMENT, ref_area: 'BEN', format: '.csv' }),
        headers: {},
        body: '',
      })
    ).body,
  );
  assert.ok(valid.length > 100, 'the fixture serves a real CSV to mutate');
  const seen = new Map<string, number>();
  for (let seed = 1; seed <= MUTATIONS; seed++) {
    const body = mutate(valid, seed);
    handler = (req) =>
      req.path.startsWith('/data/indicator')
        ? { status: 200, headers: { 'content-type': 'text/csv' }, body }
        : ilo.handler(req);
    const ctx = testSourceContext(ilostatConnector, { baseUrl: server.url, params: { indicators: [UNEMPLOYMENT] } });
    const type = await outcome(() => collect(ilostatConnector.fetch(ctx)), seed);
    seen.set(type, (seen.get(type) ?? 0) + 1);
  }
  assert.ok((seen.get('InvalidPayload') ?? 0) > 0, JSON.stringify([...seen]));
});
