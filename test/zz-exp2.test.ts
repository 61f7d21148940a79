import { test } from 'node:test';
import os from 'node:os'; import fs from 'node:fs'; import path from 'node:path';
import { startEmbeddedPostgres, freePort } from '../lib/infra/postgres';
test('starts pg and leaves it running', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp2-'));
  console.log('DIR', dir);
  await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), persistent: false });
});
