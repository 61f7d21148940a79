// Spool folders of a worker that was killed (SIGKILL runs no cleanup) are removed at the next worker
// start; the folders of processes that still run are left alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ContentChecksum } from '../../activities/ingestion/content-checksum';
import { SpoolWriter } from '../../activities/store/spool-writer';
import {
  makeSpoolDir,
  removeSpoolDir,
  runSpoolDir,
  sweepOrphanSpoolDirs,
  sweepStaleRunSpoolDirs,
} from '../../sources/kit/spool';

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

test('a resumed spool file keeps exactly the checkpointed bytes and rows, and appends after them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-spool-resume-'));
  try {
    const file = path.join(dir, 'rows-1.copy');
    const first = new SpoolWriter(file);
    await first.write([1, 'a']);
    await first.write([2, 'b']);
    await first.sync();
    const at = { bytes: first.bytes, rows: first.rows };
    assert.equal(fs.statSync(file).size, at.bytes, 'sync: the file holds every byte counted');
    await first.write([3, 'lost after the checkpoint']);
    await first.close();
    const next = path.join(dir, 'rows-2.copy');
    fs.copyFileSync(file, next);
    const resumed = new SpoolWriter(next, at);
    assert.equal(resumed.rows, 2);
    await resumed.write([3, 'c']);
    await resumed.close();
    assert.equal(fs.readFileSync(next, 'utf8'), '1\ta\n2\tb\n3\tc\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a content checksum carried over in its state continues exactly', () => {
  const hashes = [
    '0123456789abcdef0123456789abcdef',
    'ffffffffffffffffffffffffffffffff',
    '00000000111111112222222233333333',
  ];
  const whole = new ContentChecksum();
  for (const h of hashes) whole.add(h);
  const part = new ContentChecksum();
  part.add(hashes[0]!);
  const carried = ContentChecksum.from(JSON.parse(JSON.stringify(part.state())));
  carried.add(hashes[1]!);
  carried.add(hashes[2]!);
  assert.equal(carried.digest(), whole.digest());
});

test('a run spool folder is the same path on every attempt; stale ones of this process are swept', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-spool-root-'));
  try {
    const a = await runSpoolDir('stage', 'wf/run-1', root);
    assert.equal(await runSpoolDir('stage', 'wf/run-1', root), a);
    assert.notEqual(await runSpoolDir('stage', 'wf/run-2', root), a);
    const old = new Date(Date.now() - 7 * 3600_000);
    fs.utimesSync(a, old, old);
    sweepStaleRunSpoolDirs('stage', 6 * 3600_000, root);
    assert.equal(fs.existsSync(a), false, 'untouched for 7 h: swept');
    assert.equal(fs.readdirSync(root).length, 1, 'the fresh one stays');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
