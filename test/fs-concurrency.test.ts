/**
 * NrFS on real worker threads: concurrent creates, renames and disjoint
 * writes leave the same tree on every replica, equal to running the
 * threads' scripts one after another; a file used as a register is
 * linearizable, with replica threads alone and with NrFS clients among them.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFsHandle } from '../src/fs/index.js';
import { declareDead } from '../src/nr/index.js';
import { workerPath } from './support/spawn.js';
import { newControl } from './support/barrier.js';
import { runScript, setupTree } from './support/fs-script.js';
import { checkLinearizable, type Model } from '../src/lincheck/index.js';
import { runWorkers } from './support/spawn.js';
import type { FileOp, FileOpOutput, FsWorkerInput, FsWorkerOutput } from './workers/fs-worker.js';

/** One file as a register: its content, or absent. A write returns nothing; unlink says whether it existed. */
const fileRegister: Model<string | undefined, FileOp, FileOpOutput> = {
  name: 'file-register',
  init: undefined,
  step(state, input) {
    if (input.op === 'read') return { state, output: state };
    if (input.op === 'write') return { state: input.value, output: undefined };
    return { state: undefined, output: state !== undefined };
  },
  hash: (state) => (state === undefined ? '' : `=${state}`),
  readOnly: (input) => input.op === 'read',
};

/** The register workload's inputs for `workers` threads (seeds from `seedBase`), each with `extra(index)`. */
function registerInputs(handle: NrFsHandle, workers: number, rounds: number, seedBase: number, extra: (index: number) => Partial<FsWorkerInput>): FsWorkerInput[] {
  const control = newControl();
  return Array.from({ length: workers }, (_, index) => ({ mode: 'register', handle, control, index, workers, rounds, seed: seedBase + index, ...extra(index) }));
}

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
    const inputs = registerInputs(handle, workers, 300, 1000, () => ({}));
    const outs = await runWorkers<FsWorkerInput, FsWorkerOutput>('fs-worker', inputs, 60_000);
    expect(new Set(outs.map((o) => o.digest)).size).toBe(1);
    const history = outs.flatMap((o) => o.history);
    expect(history.length).toBe(workers * 300);
    const verdict = checkLinearizable(fileRegister, history);
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });

  it('a file used as a register by 2 replica threads and 2 NrFS clients of them (connectFs) is linearizable', async () => {
    const workers = 4;
    const handle = createFs({ replicas: 2, clients: 2, logBytes: 1 << 18 });
    // Threads 2 and 3 are clients; the replica threads go on until they are done, so every client op overlaps theirs.
    const inputs = registerInputs(handle, workers, 200, 2000, (index) => (index >= 2 ? { client: true } : { outlastClients: 2 }));
    const outs = await runWorkers<FsWorkerInput, FsWorkerOutput>('fs-worker', inputs, 60_000);
    expect(new Set(outs.slice(0, 2).map((o) => o.digest)).size).toBe(1);
    const history = outs.flatMap((o) => o.history);
    expect(history.length).toBeGreaterThanOrEqual(workers * 200);
    // The clients' ops are in the history: they wrote, read values and unlinked the file.
    const clientOps = history.filter((h) => (h.client ?? -1) >= 2);
    expect(clientOps.length).toBe(400);
    expect(clientOps.some((h) => h.input.op === 'write')).toBe(true);
    expect(clientOps.some((h) => h.input.op === 'read' && typeof h.output === 'string')).toBe(true);
    expect(clientOps.some((h) => h.input.op === 'unlink' && h.output === true)).toBe(true);
    const verdict = checkLinearizable(fileRegister, history);
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });

  it('a worker killed with fds open: releaseSlot from a live thread frees the unlinked file it held', async () => {
    const handle = createFs({ replicas: 2 });
    const main = attachFs(handle);
    main.writeFile('/held', Buffer.alloc(5 * 4096, 9));
    const worker = new Worker(workerPath('fs-worker'), {
      workerData: { mode: 'hold', handle, control: newControl(), index: 1, workers: 1, rounds: 0, seed: 0 } satisfies FsWorkerInput,
    });
    try {
      const { slot } = await new Promise<{ slot: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      main.unlink('/held');
      expect(main.usage().pages).toBe(5); // still open on the worker
      await worker.terminate();
      declareDead(handle.nr, slot);
      expect(main.releaseSlot(slot)).toBe(2);
      expect(main.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    } finally {
      await worker.terminate();
      main.detach();
    }
  });
});
