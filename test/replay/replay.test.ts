// Replays recorded workflow histories against today's workflow code: a change that would break
// running workflows (non-determinism) fails here before it ships. Histories are recorded from the
// end-to-end test with RECORD_HISTORIES=1 and committed under test/histories/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/create-workers';

const dir = path.join(__dirname, '..', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there are recorded histories for every workflow type that runs ingestions', () => {
  assert.ok(files.includes('masterScheduler.json'));
  assert.ok(files.includes('ingestDatasetVersion.json'));
});

for (const file of files) {
  test(`replays ${file} deterministically`, async () => {
    // runReplayHistory takes the CLI's JSON as it is (`temporal workflow show --output json`).
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    assert.ok(history.events.length > 5, 'a real history, not a stub');
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file.replace('.json', ''));
  });
}
