/**
 * Test worker (test/fs-kill-rename.test.ts): an NrFS replica thread.
 *
 * - 'loop': attach (or, given `node`, connect as a client of that node),
 *   report { slot } (a client: { threadId, owner }), then rename /r/a <-> /d/b, write and
 *   unlink /u/x (every other round with an fd open on it across the
 *   unlink), and write /o/tmp then rename it over /o/dst, in a cycle
 *   started at step `start`, counting steps done in control word 0, until
 *   the test terminates the worker at an arbitrary instruction (bounded:
 *   it stops by itself after 20 s).
 * - 'peer': attach, report { slot }, serve clients, and answer 'digest' (catch up; reply
 *   { digest, pages }) and { write: path } (writeFile the path; reply { wrote }).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attachFs, connectFs, type NrFs, type NrFsClient, type NrFsHandle } from '../../src/fs/index.js';
import { fileBytes } from '../support/fs-kill-files.js';

const { handle, mode, start = 0, control = new SharedArrayBuffer(4), node } = workerData as { handle: NrFsHandle; mode: 'loop' | 'peer'; start?: number; control?: SharedArrayBuffer; node?: number };
// A loop with a `node` is an NrFS client of that node (no replica); else a replica thread.
const fs: NrFs = node === undefined ? attachFs(handle) : connectFs(handle, { node });
parentPort!.postMessage(node === undefined ? { slot: fs.replica.id } : { threadId, owner: (fs as NrFsClient).ownerId });

if (mode === 'loop') {
  const u = fileBytes('u');
  const o = fileBytes('o');
  let fd = -1;
  let i = 0;
  // One cycle of steps, started at step `start` (the test varies it, so kills land in every step).
  const steps: (() => void)[] = [
    () => fs.rename('/r/a', '/d/b'),
    () => fs.rename('/d/b', '/r/a'),
    () => fs.writeFile('/u/x', u),
    () => (fd = i++ % 2 === 0 ? fs.open('/u/x', 'r') : -1),
    () => fs.unlink('/u/x'),
    () => fd >= 0 && fs.close(fd),
    () => fs.writeFile('/o/tmp', o),
    () => fs.rename('/o/tmp', '/o/dst'),
  ];
  const progress = new Int32Array(control);
  const until = Date.now() + 20_000;
  for (let k = 0; Date.now() < until; k++) {
    const step = (start + k) % steps.length;
    // The start state has /r/a, no /u/x, no /o/tmp: a cycle from `start` first sets up what its steps need.
    if (k === 0 && step === 1) fs.rename('/r/a', '/d/b');
    if (k === 0 && step >= 3 && step <= 5) fs.writeFile('/u/x', u);
    if (k === 0 && step === 7) fs.writeFile('/o/tmp', o);
    steps[step]!();
    Atomics.add(progress, 0, 1);
  }
  fs.detach();
} else {
  parentPort!.on('message', (m: string | { write: string }) => {
    if (m === 'digest') {
      fs.replica.sync();
      fs.reclaimPages();
      parentPort!.postMessage({ digest: fs.replica.digest(), pages: fs.usage().pages });
    } else if (typeof m === 'object') {
      fs.writeFile(m.write, fileBytes('o'));
      parentPort!.postMessage({ wrote: m.write });
    }
  });
}
