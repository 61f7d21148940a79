// Spool folders: where a connector keeps a download it must read twice (a zip's central directory sits at
// its end). Each folder is named after the worker process that made it, so a process killed mid-download
// (SIGKILL runs no `finally`) leaves a folder that the next worker start recognises as orphaned and removes.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'tedi-spool-';
/** tedi-spool-<pid>-<label>-<random> */
const NAME = /^tedi-spool-(\d+)-/;

/** A new, empty spool folder for this process; remove it with `removeSpoolDir` when done. */
export function makeSpoolDir(label: string, root = os.tmpdir()): Promise<string> {
  return fsp.mkdtemp(path.join(root, `${PREFIX}${process.pid}-${label}-`));
}

export function removeSpoolDir(dir: string): Promise<void> {
  return fsp.rm(dir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the spool folders of processes that no longer run; returns what it removed. */
export function sweepOrphanSpoolDirs(root = os.tmpdir()): string[] {
  const removed: string[] = [];
  for (const entry of fs.readdirSync(root)) {
    const pid = NAME.exec(entry)?.[1];
    if (!pid || isAlive(Number(pid))) continue;
    const dir = path.join(root, entry);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
