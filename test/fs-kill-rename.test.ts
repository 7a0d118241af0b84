/**
 * A replica thread, or an NrFS client thread, killed mid-rename and
 * mid-unlink (worker.terminate() at an arbitrary instruction, 24 times, 3
 * in each step of its cycle), then declared dead as a manager does: a
 * replica's slot with declareDead + releaseSlot, a client with
 * declareFsClientDead + releaseClients (once its node answered what it
 * sent). For every kill: the survivors' tree is one of the legal states
 * (the renamed file at the old or the new path, never both or neither, its
 * bytes intact; the unlinked file present and whole, or gone with its pages
 * back in the pool; the file renamed over a target always at the target),
 * both survivors hold the same state, no page of the pool is left to the
 * dead thread, and further ops work.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, declareFsClientDead, type NrFs } from '../src/fs/index.js';
import { declareDead } from '../src/nr/index.js';
import { fileBytes, pagesOf } from './support/fs-kill-files.js';
import { poolCensus } from './support/pool-census.js';
import { workerPath } from './support/spawn.js';
import { message, until } from './support/worker-message.js';

/** Present with exactly these bytes (true), or absent (false); anything else fails the test. */
function wholeOrGone(fs: NrFs, path: string, bytes: Buffer): boolean {
  if (!fs.exists(path)) return false;
  expect(fs.readFile(path).equals(bytes), `${path} holds other bytes`).toBe(true);
  expect(fs.stat(path).size).toBe(bytes.length);
  return true;
}

describe.each(['replica', 'client'] as const)('a %s killed mid-rename and mid-unlink', (kind) => {
  it('24 kills, 3 in each step of the cycle, at different delays: every survivor sees a legal tree, the survivors agree, no page is left behind, and ops go on', async () => {
    const h = createFs({ replicas: kind === 'replica' ? 3 : 2, maxReplicas: 4, clients: 1, capacityBytes: 8 << 20, logBytes: 1 << 20 });
    const main = attachFs(h);
    main.mkdir('/r');
    main.mkdir('/d');
    main.mkdir('/u');
    main.mkdir('/o');
    main.writeFile('/r/a', fileBytes('a'));
    main.writeFile('/o/dst', fileBytes('o'));
    const peer = new Worker(workerPath('fs-rename-killer'), { workerData: { handle: h, mode: 'peer' } });
    const seen = { atNew: 0, uPresent: 0, tmpPresent: 0 };
    try {
      const { slot: peerSlot } = await message<{ slot: number }>(peer);
      const kills = 24;
      const steps: number[] = [];
      for (let kill = 0; kill < kills; kill++) {
        const control = new SharedArrayBuffer(4);
        const w = new Worker(workerPath('fs-rename-killer'), { workerData: { handle: h, mode: 'loop', start: kill % 8, control, ...(kind === 'client' ? { node: peerSlot } : {}) } });
        const { slot, threadId, owner } = await message<{ slot?: number; threadId?: number; owner?: number }>(w);
        await new Promise((r) => setTimeout(r, (kill * 5) % 13)); // 0..12 ms into its loop
        await w.terminate();
        steps.push(Atomics.load(new Int32Array(control), 0));
        // As a manager does for a killed thread: a replica's slot declared dead and released; a client's ids
        // declared dead, and swept once no request of it is pending (its node, the peer, answers what it sent).
        const dead = kind === 'replica' ? slot! : owner!;
        if (kind === 'replica') {
          declareDead(h.nr, slot!);
          main.releaseSlot(slot!);
        } else {
          expect(declareFsClientDead(h, threadId!)).toEqual([owner]);
          await until(() => main.releaseClients() === 1, `kill ${kill}: the client's id swept`);
        }
        main.replica.sync();

        // The renamed file: at exactly one of its two paths, whole.
        const atOld = wholeOrGone(main, '/r/a', fileBytes('a'));
        const atNew = wholeOrGone(main, '/d/b', fileBytes('a'));
        expect(atOld !== atNew, `kill ${kill}: /r/a ${atOld}, /d/b ${atNew}`).toBe(true);
        // The unlinked file: whole or gone; the file renamed over /o/dst: /o/dst always there, whole.
        const uPresent = wholeOrGone(main, '/u/x', fileBytes('u'));
        const tmpPresent = wholeOrGone(main, '/o/tmp', fileBytes('o'));
        expect(wholeOrGone(main, '/o/dst', fileBytes('o'))).toBe(true);
        expect(main.readdir('/r').length + main.readdir('/d').length).toBe(1);
        seen.atNew += atNew ? 1 : 0;
        seen.uPresent += uPresent ? 1 : 0;
        seen.tmpPresent += tmpPresent ? 1 : 0;

        // Pages: only what the surviving files need is LIVE; nothing retiring once both survivors passed; nothing under the dead slot.
        const filePages = pagesOf('a') + pagesOf('o') + (uPresent ? pagesOf('u') : 0) + (tmpPresent ? pagesOf('o') : 0);
        expect(main.usage()).toEqual({ pages: filePages, inodes: 1 + 4 + 2 + (uPresent ? 1 : 0) + (tmpPresent ? 1 : 0), dataBytes: expect.any(Number) });
        const peerView = await (async () => {
          const p = message<{ digest: string; pages: number }>(peer);
          peer.postMessage('digest');
          return p;
        })();
        main.reclaimPages();
        expect(peerView.digest, `kill ${kill}: the survivors differ`).toBe(main.replica.digest());
        expect(peerView.pages).toBe(filePages);
        const census = poolCensus(h);
        expect(census.live, `kill ${kill}`).toBe(filePages);
        expect(census.retiring, `kill ${kill}`).toBe(0);
        expect(census.taken[dead] ?? 0, `kill ${kill}: pages left under the dead thread's id`).toBe(0);
        expect(Object.keys(census.taken).map(Number).every((o) => o === main.replica.id || o === peerSlot)).toBe(true);

        // Ops go on, on both survivors: back to the start state for the next kill.
        if (atNew) main.rename('/d/b', '/r/a');
        if (uPresent) main.unlink('/u/x');
        if (tmpPresent) main.unlink('/o/tmp');
        const wrote = message<{ wrote: string }>(peer);
        peer.postMessage({ write: `/o/p${kill}` });
        expect((await wrote).wrote).toBe(`/o/p${kill}`);
        main.replica.sync();
        expect(main.readFile(`/o/p${kill}`).equals(fileBytes('o'))).toBe(true);
        main.unlink(`/o/p${kill}`);
        expect(main.readFile('/r/a').equals(fileBytes('a'))).toBe(true);
      }
      // Where the kills landed (for the log, not the verdict: the timing is the machine's).
      console.log(`kills: renamed ${seen.atNew}/${kills}, /u/x present ${seen.uPresent}/${kills}, /o/tmp present ${seen.tmpPresent}/${kills}; steps done before each kill: ${steps.join(' ')}`);
    } finally {
      await peer.terminate();
      main.detach();
    }
  }, 60_000);
});
