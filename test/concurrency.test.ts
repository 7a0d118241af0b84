/**
 * Real worker threads sharing one log, or 4 parallel logs
 * (support/log-systems): linearizability of recorded histories,
 * convergence of replica digests, and oversubscription.
 */
import { describe, expect, it } from 'vitest';
import type { Value } from '../src/nr/structures/index.js';
import { newControl } from './support/barrier.js';
import { createMapHandle, LOG_COUNTS, systemName } from './support/log-systems.js';
import { checkLinearizable, hashMapModel, type HashMapOperation } from '../src/lincheck/index.js';
import { runWorkers } from './support/spawn.js';
import type { KvWorkerInput, KvWorkerOutput } from './workers/kv-worker.js';

function inputs(workers: number, seed: number, over: Partial<KvWorkerInput>, logBytes: number, logs = 1, fenceAfterMs?: number): KvWorkerInput[] {
  const handle = createMapHandle(logs, { replicas: workers, logBytes, ...(fenceAfterMs === undefined ? {} : { fenceAfterMs }) });
  const control = newControl();
  return Array.from({ length: workers }, (_, client) => ({
    handle,
    control,
    client,
    workers,
    seed: seed * 1000 + client,
    ops: 300,
    keys: 6,
    writeRatio: 0.5,
    asyncShare: 0.3,
    record: true,
    ...over,
  }));
}

describe.each(LOG_COUNTS)('linearizability across worker replicas, %i log(s)', (logs) => {
  const seeds = [1, 2, 3, 4, 5, 6];
  for (const seed of seeds) {
    it(`seed ${seed}: 4 workers on ${systemName(logs)}, mixed sync and async ops, history is linearizable`, async () => {
      const out = await runWorkers<KvWorkerInput, KvWorkerOutput>('kv-worker', inputs(4, seed, {}, 8192, logs), 60_000);
      const history: HashMapOperation<Value>[] = out.flatMap((o) => o.history);
      expect(history.length).toBe(4 * 300);
      const verdict = checkLinearizable(hashMapModel<Value>(), history);
      expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
      const digests = new Set(out.map((o) => o.digest));
      expect(digests.size).toBe(1);
    });
  }
});

describe.each(LOG_COUNTS)('convergence under oversubscription, %i log(s)', (logs) => {
  it(`8 workers on 2 cores with tiny logs (${systemName(logs)}) finish and converge`, async () => {
    // Convergence, not fencing (nr-repair, chaos and cnr-lap fence on purpose): at load 14 a descheduled worker
    // outlasted the 1 s default and its write threw FencedError, so the fencing bound is far past any stall.
    const ins = inputs(8, 77, { ops: 3000, keys: 200, writeRatio: 0.3, asyncShare: 0.5, record: false }, 8192, logs, 30_000);
    const out = await runWorkers<KvWorkerInput, KvWorkerOutput>('kv-worker', ins, 120_000);
    expect(out.map((o) => o.opsDone)).toEqual(Array(8).fill(3000));
    expect(new Set(out.map((o) => o.digest)).size).toBe(1);
  });
});

// Flat combining, not a log-protocol guarantee: on parallel logs a burst is split by key over the logs, one batch per log.
describe('combining under oversubscription, one log', () => {
  it('8 workers, write-only async bursts, converge; bursts are combined into batches', async () => {
    const ins = inputs(8, 78, { ops: 2000, keys: 64, writeRatio: 1, asyncShare: 1, record: false }, 16384);
    const out = await runWorkers<KvWorkerInput, KvWorkerOutput>('kv-worker', ins, 120_000);
    expect(new Set(out.map((o) => o.digest)).size).toBe(1);
    const ops = out.reduce((s, o) => s + o.opsDone, 0);
    const batches = out.reduce((s, o) => s + o.batches, 0);
    // Bursts of up to 16 writes issued in one run share one reservation.
    expect(batches).toBeLessThan(ops / 2);
  });
});
