/**
 * The concurrency test's per-thread scripts: creates, renames, links,
 * attribute changes and disjoint writes that commute across threads (each thread owns its names and its
 * file region), so any serial order of the threads gives the same tree.
 * Workers run them concurrently; the test runs them one after another as
 * the sequential reference.
 */
import type { NrFs } from '../../src/fs/index.js';

export const REGION_BYTES = 20_000;

/** Shared setup, done by one thread before the others start. */
export function setupTree(fs: NrFs, threads: number): void {
  fs.mkdir('/shared');
  fs.writeFile('/data', '');
  for (let t = 0; t < threads; t++) fs.mkdir(`/p${t}`);
}

export function runScript(fs: NrFs, t: number, rounds: number): void {
  const fd = fs.open('/data', 'r+');
  for (let k = 0; k < rounds; k++) {
    const name = `/shared/w${t}-${k}`;
    fs.writeFile(name, `thread ${t} round ${k}`);
    if (k % 3 === 0) fs.rename(name, `/shared/r${t}-${k}`);
    else if (k % 4 === 1) fs.unlink(name);
    // Private directory into the shared one (MWRM-style), and a directory rename.
    fs.writeFile(`/p${t}/x${k}`, Buffer.alloc(k % 7, t));
    if (k % 2 === 0) fs.rename(`/p${t}/x${k}`, `/shared/m${t}-${k}`);
    else {
      // Links and attributes (replicated state too): a hard link and a mode on the file kept, an owner now and then.
      if (k % 10 === 7) fs.link(`/p${t}/x${k}`, `/shared/h${t}-${k}`);
      fs.chmod(`/p${t}/x${k}`, 0o600 + (k % 3) * 0o10);
      if (k % 4 === 3) fs.chown(`/p${t}/x${k}`, t + 1, k);
    }
    // A symbolic link in the shared directory to a private name (dangling once that name moved).
    if (k % 3 === 1) fs.symlink(`../p${t}/x${k}`, `/shared/s${t}-${k}`);
    if (k % 10 === 0) {
      fs.mkdir(`/shared/d${t}-${k}/sub`, { recursive: true });
      fs.rename(`/shared/d${t}-${k}`, `/shared/D${t}-${k}`);
    }
    // Disjoint region of the shared file: bytes [t*REGION, (t+1)*REGION).
    const chunk = Buffer.alloc(1000 + (k % 5) * 700, (t * 31 + k) & 0xff);
    const at = t * REGION_BYTES + ((k * 997) % (REGION_BYTES - chunk.length));
    fs.pwrite(fd, chunk, 0, chunk.length, at);
  }
  fs.close(fd);
}
