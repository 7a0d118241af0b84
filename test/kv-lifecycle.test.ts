/**
 * Lifecycles an adopter runs into: a KV client kept after its node is gone
 * (detached, or its worker terminated and declared dead). Every op fails
 * typed (NodeGoneError, `committed: false`: it did not and never will take
 * effect), and a write that failed so gives its sealed block back: a client
 * that retries against a gone node must not fill the arena. Until session 17
 * every such write leaked its block (300 refused 100-byte puts: 43 200 bytes
 * of arena gone for good).
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { declareDead, NodeGoneError } from '../src/nr/index.js';
import { attachKv, connectKv, createKv, type KvClient, type KvStore } from '../src/kv/index.js';
import { blockBytesFor } from '../src/kv/arena.js';
import { spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(4);
const workers: Worker[] = [];
const open: { close(): void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) o.close();
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Every kind of client write, `n` times each, against a node that is gone: each one's error. */
async function writesAgainstGoneNode(c: KvClient, n: number): Promise<unknown[]> {
  const errors: unknown[] = [];
  const value = 'x'.repeat(100);
  const settle = async (f: () => unknown): Promise<void> => {
    try {
      await f();
      errors.push(null);
    } catch (e) {
      errors.push(e);
    }
  };
  for (let i = 0; i < n; i++) {
    await settle(() => c.put(`k${i}`, value));
    await settle(() => c.putAsync(`k${i}`, value));
    await settle(() => c.batch([{ type: 'put', key: `a${i}`, value }, { type: 'put', key: `b${i}`, value }]));
    await settle(() => c.batchAsync([{ type: 'put', key: `a${i}`, value }]));
    await settle(() => c.compareAndSet(`k${i}`, 0, value));
    await settle(() => c.compareAndSetAsync(`k${i}`, 0, value));
  }
  return errors;
}

describe('a KV client whose node is gone', () => {
  for (const how of ['detached', 'terminated and declared dead'] as const) {
    it(`(${how}): every write fails with NodeGoneError (not committed) and gives its block back: the arena does not grow`, async () => {
      const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 2 } });
      const survivor: KvStore = attachKv(h, { key: KEY });
      open.push({ close: () => survivor.detach() });
      survivor.put('k', 'before');
      const w = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
      const { slot } = await w.first;
      const c = connectKv(h, { key: KEY, client: { node: slot!, timeoutMs: 2000 } });
      open.push(c);
      expect(c.getString('k')).toBe('before');
      expect(c.put('k', 'via the node')).toBeGreaterThan(0);
      if (how === 'detached') expect((await w.call('detach')).ok).toBe(true);
      else {
        await workers.pop()!.terminate();
        declareDead(h.nr, slot!);
      }
      survivor.sync();
      const before = survivor.stats();
      const errors = await writesAgainstGoneNode(c, 50);
      expect(errors).toHaveLength(300);
      for (const e of errors) {
        expect(e).toBeInstanceOf(NodeGoneError);
        expect((e as NodeGoneError).committed).toBe(false);
      }
      await expect(c.getAsync('k')).rejects.toBeInstanceOf(NodeGoneError);
      expect(() => c.scan({})).toThrow(NodeGoneError);
      survivor.sync();
      const after = survivor.stats();
      // Each refused write's block went back to its free list and the next one took it: at most one
      // block of each size class in use (the puts are one class), none lost.
      const block = blockBytesFor(24 + 100 + 16);
      expect(after.arenaUsedBytes - before.arenaUsedBytes).toBeLessThanOrEqual(2 * block);
      expect(after.arenaUsedBytes - before.arenaUsedBytes).toBe(after.arenaFreeBytes - before.arenaFreeBytes);
      // Nothing was written; the survivor still serves the value the node wrote.
      expect(survivor.getString('k')).toBe('via the node');
      expect(survivor.stats().keys).toBe(1);
    }, 30_000);
  }
});
