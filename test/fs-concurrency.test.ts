/**
 * NrFS on real worker threads: concurrent creates, renames and disjoint
 * writes leave the same tree on every replica, equal to running the
 * threads' scripts one after another; a file used as a register is
 * linearizable.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, createFs } from '../src/fs/index.js';
import { newControl } from './support/barrier.js';
import { runScript, setupTree } from './support/fs-script.js';
import { checkKvLinearizable } from './support/linearizability.js';
import { runWorkers } from './support/spawn.js';
import type { FsWorkerInput, FsWorkerOutput } from './workers/fs-worker.js';

describe('NrFS across worker threads', () => {
  for (const workers of [2, 4]) {
    it(`${workers} threads: create/rename in a shared directory and disjoint writes give one tree, equal to a sequential run`, async () => {
      const rounds = 60;
      const handle = createFs({ replicas: workers, logBytes: 1 << 20 });
      const control = newControl();
      const inputs: FsWorkerInput[] = Array.from({ length: workers }, (_, index) => ({
        mode: 'tree',
        handle,
        control,
        index,
        workers,
        rounds,
        seed: index + 1,
      }));
      const outs = await runWorkers<FsWorkerInput, FsWorkerOutput>('fs-worker', inputs, 60_000);
      const digests = new Set(outs.map((o) => o.digest));
      expect(digests.size).toBe(1);
      for (const o of outs) expect(o.offsetsOk).toBe(true);

      const ref = attachFs(createFs({ logBytes: 1 << 20 }));
      setupTree(ref, workers);
      for (let t = workers - 1; t >= 0; t--) runScript(ref, t, rounds);
      expect(outs[0]!.digest).toBe(ref.replica.digest());
      expect(ref.readdir('/shared').length).toBeGreaterThan(rounds);
      ref.detach();
    });
  }

  it('a file used as a register (writeFile / readFile / unlink) is linearizable', async () => {
    const workers = 3;
    const handle = createFs({ replicas: workers, logBytes: 1 << 18 });
    const control = newControl();
    const inputs: FsWorkerInput[] = Array.from({ length: workers }, (_, index) => ({
      mode: 'register',
      handle,
      control,
      index,
      workers,
      rounds: 300,
      seed: 1000 + index,
    }));
    const outs = await runWorkers<FsWorkerInput, FsWorkerOutput>('fs-worker', inputs, 60_000);
    expect(new Set(outs.map((o) => o.digest)).size).toBe(1);
    const history = outs.flatMap((o) => o.history);
    expect(history.length).toBe(workers * 300);
    const verdict = checkKvLinearizable(history);
    expect(verdict.ok, verdict.reason).toBe(true);
  });
});
