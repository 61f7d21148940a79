// `npm start` never mistakes a server left behind by an earlier run for the dev server it starts: a port
// that already answers stops start-up with the way out, instead of "attaching" to the stranger.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { freePort } from '../../lib/infra/postgres';
import { startDevServer } from '../../lib/infra/temporal-server';

test('a port that already answers is refused, naming it, TEMPORAL_ADDRESS and how to find its process', async () => {
  const port = await freePort();
  const squatter = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  try {
    await assert.rejects(startDevServer({ port }), (err: Error) => {
      assert.match(err.message, new RegExp(`Port ${port} already answers on 127\\.0\\.0\\.1`));
      assert.match(err.message, new RegExp(`TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${port}`));
      assert.match(err.message, /ss -ltnp/);
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
});
