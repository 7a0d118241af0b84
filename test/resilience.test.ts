/**
 * Liveness and crash safety with real worker threads: a blocked replica is
 * fenced instead of stalling writers, recovers by state transfer and then
 * serves linearizable reads; replicas join at any time; a killed replica,
 * declared dead, stops holding back the log at once.
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { startNode } from './support/node-worker.js';
import { runWorkers } from './support/spawn.js';

describe('fencing', () => {
  it('a replica blocked in a long synchronous loop is fenced, not waited for; after it resumes it recovers and reads correctly', async () => {
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 8192, fenceAfterMs: 100 });
    const blocked = await startNode(handle, 'block', 5000);
    try {
      const writer = attach(handle, HashMap);
      let unblocked = false;
      const resumed = blocked.next((m) => m.unblocked === true).then(() => (unblocked = true));
      // Far more than the log holds: without fencing this would wait 5 s for the blocked replica.
      for (let i = 0; i < 20_000; i++) writer.writes.put(i % 500, i);
      expect(unblocked).toBe(false);
      expect(writer.stats().fences).toBeGreaterThanOrEqual(1);
      expect(writer.stats().fullWaits).toBeGreaterThan(0);

      await resumed;
      // The fenced replica notices before serving, takes a snapshot from the writer, and is exact.
      blocked.worker.postMessage({ get: '499' });
      writer.writes.put('499', 'latest');
      blocked.worker.postMessage({ get: '499' });
      const first = await blocked.next((m) => 'value' in m);
      const second = await blocked.next((m) => 'value' in m);
      // The first get was posted before the put and may run before or after it: both are linearizable.
      expect([null, 'latest']).toContain(first.value);
      expect(second.value).toBe('latest'); // posted after the put returned: must see it
      const stats = second.stats as { stateTransfers: number; fenced: number; status: string };
      expect(stats.fenced).toBeGreaterThanOrEqual(1);
      expect(stats.stateTransfers).toBe(1);
      expect(stats.status).toBe('live');
      blocked.worker.postMessage('digest');
      const { digest } = await blocked.next((m) => 'digest' in m);
      expect(digest).toBe(writer.digest());
      writer.detach();
    } finally {
      await blocked.worker.terminate();
    }
  });

  it('a killed replica, declared dead by its manager, stops holding back the log at once', async () => {
    const { declareDead } = await import('../src/nr/index.js');
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 8192, fenceAfterMs: 600_000 });
    const victim = await startNode(handle, 'block', 600_000);
    await victim.worker.terminate();
    declareDead(handle, victim.slot);
    const writer = attach(handle, HashMap);
    for (let i = 0; i < 20_000; i++) writer.writes.put(i % 100, i); // would wait 10 minutes without the declaration
    expect(writer.stats().fences).toBe(0);
    writer.detach();
  });
});

describe('joining at any time', () => {
  it('a worker attaching after the log wrapped many times builds its replica by state transfer', async () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const first = attach(handle, HashMap);
    for (let i = 0; i < 10_000; i++) first.writes.put(`k${i % 700}`, i);
    const late = await startNode(handle, 'serve');
    try {
      late.worker.postMessage('digest');
      const { digest, stats } = await late.next((m) => 'digest' in m);
      expect(digest).toBe(first.digest());
      expect((stats as { stateTransfers: number }).stateTransfers).toBe(1);
      // And it keeps up from there.
      first.writes.put('k1', 'after-join');
      late.worker.postMessage({ get: 'k1' });
      expect((await late.next((m) => 'value' in m)).value).toBe('after-join');
    } finally {
      await late.worker.terminate();
      first.detach();
    }
  });

  it('replicas in one thread join from each other without blocking', () => {
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const a = attach(handle, HashMap);
    for (let i = 0; i < 5000; i++) a.writes.put(i % 300, i);
    const b = attach(handle, HashMap);
    expect(b.digest()).toBe(a.digest());
    expect(b.stats().stateTransfers).toBe(1);
    expect(a.stats().snapshotsServed).toBe(1);
    for (let i = 0; i < 5000; i++) b.writes.put(i % 100, -i);
    expect(a.digest()).toBe(b.digest());
  });

  it('joining when no replica is left to copy from is a typed error, not a guess', async () => {
    const { RecoveryError } = await import('../src/nr/index.js');
    const handle = createHandle(HashMap, { replicas: 1, logBytes: 4096 });
    const a = attach(handle, HashMap);
    for (let i = 0; i < 2000; i++) a.writes.put(i, i);
    a.detach();
    expect(() => attach(handle, HashMap)).toThrow(RecoveryError);
  });
});

describe('convergence with joins under load', () => {
  it('workers that join while others write converge', async () => {
    const { newControl } = await import('./support/barrier.js');
    const handle = createHandle(HashMap, { replicas: 2, logBytes: 8192, fenceAfterMs: 200 });
    const control = newControl();
    const base = { handle, control, workers: 4, ops: 1500, keys: 50, writeRatio: 0.5, asyncShare: 0.3, record: false };
    // 2 reserved replicas, 2 that join by state transfer.
    const outs = await runWorkers<object, { digest: string }>(
      'kv-worker',
      [0, 1, 2, 3].map((i) => ({ ...base, client: i, seed: 900 + i })),
      120_000,
    );
    expect(new Set(outs.map((o) => o.digest)).size).toBe(1);
  });
});

describe('torn appends', () => {
  async function tornWriter(handle: ReturnType<typeof createHandle>): Promise<{ worker: import('node:worker_threads').Worker; reserved: number }> {
    const { Worker } = await import('node:worker_threads');
    const { workerPath } = await import('./support/spawn.js');
    const worker = new Worker(workerPath('torn-writer'), { workerData: { handle } });
    const inbox: Record<string, unknown>[] = [];
    const next = (key: string): Promise<Record<string, unknown>> =>
      new Promise((resolve) => {
        const check = (): void => {
          const m = inbox.find((x) => key in x);
          if (m) resolve(m);
          else worker.once('message', (x: Record<string, unknown>) => (inbox.push(x), check()));
        };
        check();
      });
    await next('ready');
    worker.postMessage('go');
    const { reserved } = await next('reserved');
    return { worker, reserved: reserved as number };
  }

  for (const declared of [true, false]) {
    it(`a writer killed between reservation and fill does not stall readers (${declared ? 'declared dead' : 'found by the fencing timeout'})`, async () => {
      const { declareDead } = await import('../src/nr/index.js');
      const handle = createHandle(HashMap, { replicas: 2, logBytes: 8192, fenceAfterMs: declared ? 600_000 : 300 });
      const survivor = attach(handle, HashMap);
      survivor.writes.put('before', 1);
      const { worker, reserved } = await tornWriter(handle);
      await worker.terminate();
      if (declared) declareDead(handle, survivor.id === 0 ? 1 : 0);
      // Writes after the torn entry must replay past it: it is repaired into a skip.
      for (let i = 0; i < 2000; i++) survivor.writes.put(`after${i % 10}`, i);
      expect(survivor.reads.get('torn')).toBeUndefined(); // never acknowledged, never applied
      expect(survivor.reads.get('after9')).toBe(1999);
      expect(survivor.stats().sealWaits).toBeGreaterThanOrEqual(1);
      expect(reserved).toBeGreaterThan(0);
      // A replica joining now builds the same state.
      const late = attach(handle, HashMap);
      expect(late.digest()).toBe(survivor.digest());
    });
  }
});
