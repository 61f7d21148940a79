// Spool folders of a worker that was killed (SIGKILL runs no cleanup) are removed at the next worker
// start; the folders of processes that still run are left alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { makeSpoolDir, removeSpoolDir, sweepOrphanSpoolDirs } from '../../sources/kit/spool';

test('orphaned spool folders (their process is gone) are swept; live ones stay', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-spool-test-root-'));
  try {
    // A pid that surely ran and has exited: a child process we started and waited for.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    assert.ok(dead);
    const orphan = path.join(root, `tedi-spool-${dead}-faostat-QCL-abc123`);
    fs.mkdirSync(orphan);
    fs.writeFileSync(path.join(orphan, 'QCL.zip'), 'partial download');
    const mine = await makeSpoolDir('faostat-QCL', root);
    const unrelated = path.join(root, 'some-other-folder');
    fs.mkdirSync(unrelated);

    assert.deepEqual(sweepOrphanSpoolDirs(root), [orphan]);
    assert.equal(fs.existsSync(orphan), false);
    assert.equal(fs.existsSync(mine), true, 'a running process keeps its folder');
    assert.equal(fs.existsSync(unrelated), true, 'only spool folders are touched');
    await removeSpoolDir(mine);
    assert.equal(fs.existsSync(mine), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
