/**
 * Liveness and crash safety with real worker threads: a blocked replica is
 * fenced instead of stalling writers, recovers by state transfer and then
 * serves linearizable reads; replicas join at any time; a killed replica,
 * declared dead, stops holding back the log at once. Each on one log and
 * on 4 parallel logs (support/log-systems), where every log is fenced,
 * repaired and transferred on its own.
 */
import { describe, expect, it } from 'vitest';
import { RecoveryError, type ReplicaStats } from '../src/nr/index.js';
import { startNode } from './support/node-worker.js';
import { runWorkers } from './support/spawn.js';
import { attachMap, createMapHandle, declareMapDead, LOG_COUNTS, logOfKey, systemName, total, type MapHandle } from './support/log-systems.js';

describe.each(LOG_COUNTS)('%i log(s)', (logs) => {
describe(`fencing (${systemName(logs)})`, () => {
  it('a replica blocked in a long synchronous loop is fenced, not waited for; after it resumes it recovers and reads correctly', async () => {
    const handle = createMapHandle(logs, { replicas: 2, logBytes: 8192, fenceAfterMs: 100 });
    const blocked = await startNode(handle, 'block', 5000);
    try {
      const writer = attachMap(handle);
      let unblocked = false;
      const resumed = blocked.next((m) => m.unblocked === true).then(() => (unblocked = true));
      // Far more than the log holds (every one of the logs): without fencing this would wait 5 s for the blocked replica.
      for (let i = 0; i < 20_000; i++) writer.writes.put(i % 500, i);
      expect(unblocked).toBe(false);
      // Every log filled and fenced the blocked replica on its own.
      expect(writer.stats().map((s) => s.fences >= 1 && s.fullWaits > 0)).toEqual(new Array(logs).fill(true));

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
      // The log of '499' recovered for the get; the others recover when the digest reads them.
      const onGet = (second.stats as ReplicaStats[])[logOfKey(handle, '499')]!;
      expect([onGet.fenced >= 1, onGet.stateTransfers, onGet.status]).toEqual([true, 1, 'live']);
      blocked.worker.postMessage('digest');
      const { digest, stats } = await blocked.next((m) => 'digest' in m);
      expect(digest).toBe(writer.digest());
      expect((stats as ReplicaStats[]).map((s) => [s.fenced >= 1, s.stateTransfers, s.status])).toEqual(new Array(logs).fill([true, 1, 'live']));
      writer.detach();
    } finally {
      await blocked.worker.terminate();
    }
  });

  it('a killed replica, declared dead by its manager, stops holding back the log at once', async () => {
    const handle = createMapHandle(logs, { replicas: 2, logBytes: 8192, fenceAfterMs: 600_000 });
    const victim = await startNode(handle, 'block', 600_000);
    await victim.worker.terminate();
    declareMapDead(handle, victim.slot);
    const writer = attachMap(handle);
    for (let i = 0; i < 20_000; i++) writer.writes.put(i % 100, i); // would wait 10 minutes without the declaration
    expect(total(writer.stats(), 'fences')).toBe(0);
    writer.detach();
  });
});

describe(`joining at any time (${systemName(logs)})`, () => {
  it('a worker attaching after the log wrapped many times builds its replica by state transfer', async () => {
    const handle = createMapHandle(logs, { replicas: 1, logBytes: 4096 });
    const first = attachMap(handle);
    for (let i = 0; i < 10_000; i++) first.writes.put(`k${i % 700}`, i);
    const late = await startNode(handle, 'serve');
    try {
      late.worker.postMessage('digest');
      const { digest, stats } = await late.next((m) => 'digest' in m);
      expect(digest).toBe(first.digest());
      expect((stats as ReplicaStats[]).map((s) => s.stateTransfers)).toEqual(new Array(logs).fill(1));
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
    const handle = createMapHandle(logs, { replicas: 1, logBytes: 4096 });
    const a = attachMap(handle);
    for (let i = 0; i < 5000; i++) a.writes.put(i % 300, i);
    const b = attachMap(handle);
    expect(b.digest()).toBe(a.digest());
    expect(b.stats().map((s) => s.stateTransfers)).toEqual(new Array(logs).fill(1));
    expect(a.stats().map((s) => s.snapshotsServed)).toEqual(new Array(logs).fill(1));
    for (let i = 0; i < 5000; i++) b.writes.put(i % 100, -i);
    expect(a.digest()).toBe(b.digest());
  });

  it('joining when no replica is left to copy from is a typed error, not a guess', () => {
    const handle = createMapHandle(logs, { replicas: 1, logBytes: 4096 });
    const a = attachMap(handle);
    for (let i = 0; i < 2000; i++) a.writes.put(i, i);
    a.detach();
    expect(() => attachMap(handle)).toThrow(RecoveryError);
  });
});

describe(`convergence with joins under load (${systemName(logs)})`, () => {
  it('workers that join while others write converge', async () => {
    const { newControl } = await import('./support/barrier.js');
    const handle = createMapHandle(logs, { replicas: 2, logBytes: 8192, fenceAfterMs: 200 });
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

describe(`torn appends (${systemName(logs)})`, () => {
  async function tornWriter(handle: MapHandle): Promise<{ worker: import('node:worker_threads').Worker; reserved: number }> {
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
      const handle = createMapHandle(logs, { replicas: 2, logBytes: 8192, fenceAfterMs: declared ? 600_000 : 300 });
      const survivor = attachMap(handle);
      const tornLog = logOfKey(handle, 'torn');
      // An entry before the torn one on its log (so the torn reservation is past position 0).
      const before = Array.from({ length: 64 }, (_, k) => `before${k}`).find((k) => logOfKey(handle, k) === tornLog)!;
      survivor.writes.put(before, 1);
      const { worker, reserved } = await tornWriter(handle);
      await worker.terminate();
      if (declared) declareMapDead(handle, survivor.slot === 0 ? 1 : 0);
      // Writes after the torn entry must replay past it: it is repaired into a skip (on the torn key's log).
      expect(Array.from({ length: 10 }, (_, k) => logOfKey(handle, `after${k}`))).toContain(tornLog);
      for (let i = 0; i < 2000; i++) survivor.writes.put(`after${i % 10}`, i);
      expect(survivor.reads.get('torn')).toBeUndefined(); // never acknowledged, never applied
      expect(survivor.reads.get('after9')).toBe(1999);
      expect(survivor.stats()[tornLog]!.sealWaits).toBeGreaterThanOrEqual(1);
      expect(reserved).toBeGreaterThan(0);
      // A replica joining now builds the same state.
      const late = attachMap(handle);
      expect(late.digest()).toBe(survivor.digest());
    });
  }
});
});
