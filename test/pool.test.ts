/**
 * piscina pools: every pool thread a node, under each `atomics` mode. Under
 * 'sync' idle pool threads block between tasks and cannot be nudged; writers
 * must fence them after the bound instead of waiting, and their next task
 * must still read linearizably.
 */
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { attach, createHandle, pinnedLoadBalancer, pinnedTask } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { workerPath } from './support/spawn.js';

function task(handle: unknown, key: string, worker: number): object {
  return pinnedTask({ handle, key }, worker);
}

describe('piscina pool threads as nodes', () => {
  for (const atomics of ['sync', 'async', 'disabled'] as const) {
    it(`atomics: '${atomics}': writers are held up at most the fencing bound by idle pool threads, which then read correctly`, async () => {
      const handle = createHandle(HashMap, { replicas: 1, maxReplicas: 8, logBytes: 8192, fenceAfterMs: 200 });
      const writer = attach(handle, HashMap);
      const pool = new Piscina({
        filename: workerPath('pool-task'),
        minThreads: 2,
        maxThreads: 2,
        idleTimeout: 60_000,
        atomics,
        loadBalancer: pinnedLoadBalancer as never,
      });
      try {
        // One task per pool thread makes each a node.
        const first = await Promise.all([0, 1].map((w) => pool.run(task(handle, 'k', w))));
        expect(new Set(first.map((r: { thread: number }) => r.thread)).size).toBe(2);
        // Now the pool threads idle. Write far more than the log holds.
        for (let i = 0; i < 20_000; i++) writer.writes.put('k', i);
        const stats = writer.stats();
        // Finishing at all proves the bound: idle 'sync' threads never answer nudges, so
        // without fencing the writer would wait for them forever. Under 'async' and
        // 'disabled' they catch up when nudged instead.
        if (atomics === 'sync') expect(stats.fences).toBeGreaterThanOrEqual(1);
        expect(stats.fullWaits).toBeGreaterThan(0);
        const after = await Promise.all([0, 1].map((w) => pool.run(task(handle, 'k', w))));
        for (const r of after as { value: unknown; stats: { status: string } }[]) {
          expect(r.value).toBe(19_999);
          expect(r.stats.status).toBe('live');
        }
      } finally {
        await pool.destroy();
        writer.detach();
      }
    });
  }
});
