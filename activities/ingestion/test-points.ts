// Named points inside the ingestion stages where the crash tests (test/e2e/stage-crash.test.ts) kill a worker
// or hold it while they crash PostgreSQL: "kill the worker right after the load committed" cannot be timed
// from outside. Off unless TEDI_TEST_CONTROL_DIR is set, which only the tests do; then
//   TEDI_TEST_POINTS="kill@load:after-commit,pause@load:start"
// makes the worker SIGKILL itself, or wait (heartbeating) until the file <dir>/<point>.release appears, the
// first time it reaches that point; <dir>/<point>.reached records that it did, across worker processes.
// `delay@<point>` waits TEDI_TEST_DELAY_MS without heartbeating (a slow statement, as the stage sees it).
import fs from 'node:fs';
import path from 'node:path';
import { heartbeat } from '@temporalio/activity';

export type TestPoint = 'stage:mid' | 'stage:before-commit' | 'load:start' | 'load:before-commit' | 'load:after-commit';

export async function testPoint(point: TestPoint): Promise<void> {
  const dir = process.env.TEDI_TEST_CONTROL_DIR;
  if (!dir) return;
  const actions = (process.env.TEDI_TEST_POINTS ?? '').split(',').filter((a) => a.endsWith(`@${point}`));
  if (actions.length === 0) return;
  const reached = path.join(dir, `${point}.reached`);
  if (fs.existsSync(reached)) return;
  fs.writeFileSync(reached, String(process.pid));
  if (actions.some((a) => a.startsWith('kill@'))) process.kill(process.pid, 'SIGKILL');
  if (actions.some((a) => a.startsWith('delay@'))) {
    await new Promise((r) => setTimeout(r, Number(process.env.TEDI_TEST_DELAY_MS ?? 0)));
    return;
  }
  const release = path.join(dir, `${point}.release`);
  while (!fs.existsSync(release)) {
    heartbeat({ heldAt: point });
    await new Promise((r) => setTimeout(r, 100));
  }
}
