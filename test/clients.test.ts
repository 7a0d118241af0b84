/**
 * Clients: threads without a replica, served by a node's combiner. Real
 * worker threads; the test process's main thread takes part as a client.
 * The linearizability runs also on 4 parallel logs (support/log-systems),
 * where a client is one NR client per log of one node, and so do the client
 * outcomes when the node detaches, exits or is declared dead, and FIFO order.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  BackpressureError,
  CapacityError,
  connect,
  createHandle,
  declareClientDead,
  DetachedError,
  EncodeError,
  NodeGoneError,
  TimeoutError,
  type NrHandle,
} from '../src/nr/index.js';
import { HashMap, type Value } from '../src/nr/structures/index.js';
import { DOORBELL, SharedContext } from '../src/nr/clients/context.js';
import { arriveAndWait, DONE, newControl, READY, stamp } from './support/barrier.js';
import { checkLinearizable, hashMapModel, type HashMapOperation } from '../src/lincheck/index.js';
import { mulberry32 } from './support/prng.js';
import { startNode } from './support/node-worker.js';
import { runWorkers } from './support/spawn.js';
import { connectMap, createMapHandle, declareMapDead, LOG_COUNTS, systemName, type MapHandle } from './support/log-systems.js';
import type { KvWorkerInput, KvWorkerOutput } from './workers/kv-worker.js';

/** A client worker that writes without end: async writes, and a sync one every 64. */
const BUSY_CLIENT = `for (let i = 0; ; i++) { c.writeAsync('put', 'victim', i); if (i % 64 === 0) c.writes.put('sync', i); }`;

/** A worker that connects to `handle` as client `c` of HashMap, then runs `body`. */
function clientWorker(handle: NrHandle, body: string): Worker {
  return new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.url).then(({ connect }) => import(workerData.structs).then(({ HashMap }) => {
       const c = connect(workerData.handle, HashMap);
       ${body}
     }));`,
    {
      eval: true,
      workerData: {
        handle,
        url: new URL('../dist/src/nr/index.js', import.meta.url).href,
        structs: new URL('../dist/src/nr/structures/index.js', import.meta.url).href,
      },
    },
  );
}

const connectHashMap = (handle: NrHandle) => connect(handle, HashMap);

/** Retry `connect` until a slot is free (bounded). */
async function connectWhenFree(handle: NrHandle, timeoutMs = 20_000): Promise<ReturnType<typeof connectHashMap>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return connectHashMap(handle);
    } catch (e) {
      if (!(e instanceof CapacityError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** The main thread's share of a linearizability run: async ops, recorded. */
async function mainThreadClient(handle: MapHandle, control: SharedArrayBuffer, participants: number, seed: number): Promise<HashMapOperation<Value>[]> {
  const words = new Int32Array(control);
  const client = connectMap(handle, { node: 0 });
  const rand = mulberry32(seed);
  const history: HashMapOperation<Value>[] = [];
  await arriveAndWait(words, READY, participants);
  let value = 9_000_000 + seed * 1000;
  for (let burst = 0; burst < 20; burst++) {
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) {
      const key = `k${Math.floor(rand() * 6)}`;
      const call = stamp(words);
      if (rand() < 0.5) {
        ps.push(client.readAsync('get', key).then((output) => void history.push({ client: 99, call, ret: stamp(words), input: { op: 'get', key }, output: output as Value | undefined })));
      } else {
        const v = value++;
        ps.push(
          client.writeAsync('put', key, v).then((output) => void history.push({ client: 99, call, ret: stamp(words), input: { op: 'put', key, value: v }, output: output as Value | undefined })),
        );
      }
    }
    await Promise.all(ps);
  }
  await arriveAndWait(words, DONE, participants);
  client.close();
  return history;
}

describe.each(LOG_COUNTS)('linearizability with replicas and clients, %i log(s)', (logs) => {
  for (const seed of [11, 12, 13, 14]) {
    it(`seed ${seed}: 2 nodes on ${systemName(logs)}, 2 client workers and the main thread as a client`, async () => {
      const handle = createMapHandle(logs, { replicas: 2, clients: 4, logBytes: 8192, clientSlots: 16 });
      const control = newControl();
      const participants = 5; // 4 workers + the main thread
      const base = { handle, control, workers: participants, ops: 200, keys: 6, writeRatio: 0.5, asyncShare: 0.4, record: true };
      const ins: KvWorkerInput[] = [
        { ...base, client: 0, seed: seed * 10 },
        { ...base, client: 1, seed: seed * 10 + 1 },
        { ...base, client: 2, seed: seed * 10 + 2, role: 'client', node: 0 },
        { ...base, client: 3, seed: seed * 10 + 3, role: 'client', node: 1 },
      ];
      const [outs, mainHistory] = await Promise.all([
        runWorkers<KvWorkerInput, KvWorkerOutput>('kv-worker', ins, 60_000),
        mainThreadClient(handle, control, participants, seed),
      ]);
      const history = [...outs.flatMap((o) => o.history), ...mainHistory];
      expect(history.length).toBe(4 * 200 + 160);
      const verdict = checkLinearizable(hashMapModel<Value>(), history);
      expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
      expect(outs[0]!.digest).toBe(outs[1]!.digest);
    });
  }
});

describe.each(LOG_COUNTS)('client outcomes, %i log(s)', (logs) => {
  it(`${systemName(logs)}: keeps each client FIFO: async ops take effect and answer in issue order`, async () => {
    const handle = createMapHandle(logs, { replicas: 1, clients: 2, clientSlots: 8 });
    const node = await startNode(handle, 'serve');
    try {
      const c = connectMap(handle);
      // 200 ops on one key through an 8-slot ring: back-pressure queues the rest, in order.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? c.readAsync('get', 'k') : c.writeAsync('put', 'k', i))),
      );
      let last: number | undefined;
      results.forEach((r, i) => {
        // A put returns the value of the write before it; a get sees the write before it.
        expect(r).toBe(last);
        if (i % 3 !== 2) last = i;
      });
      expect(c.read('get', 'k')).toBe(199 - (199 % 3 === 2 ? 1 : 0));
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });

  it(`${systemName(logs)}: a node that detaches answers what it has, then fails its clients with NodeGoneError`, async () => {
    const handle = createMapHandle(logs, { replicas: 1, clients: 2 });
    const node = await startNode(handle, 'serve');
    const c = connectMap(handle);
    expect(await c.writeAsync('put', 'a', 1)).toBeUndefined();
    node.worker.postMessage('detach');
    await node.next((m) => m.detached === true);
    expect(() => c.read('get', 'a')).toThrow(NodeGoneError);
    await expect(c.writeAsync('put', 'a', 2)).rejects.toBeInstanceOf(NodeGoneError);
    expect(() => connectMap(handle)).toThrow(CapacityError); // no node serving
    await node.worker.terminate();
  });

  it(`${systemName(logs)}: a node whose worker exits without detaching wakes its clients`, async () => {
    const handle = createMapHandle(logs, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'exit');
    await node.exited;
    const c = connectMap(handle, { node: 0 });
    expect(() => c.read('get', 'k')).toThrow(NodeGoneError);
  });

  it(`${systemName(logs)}: a terminated node, declared dead by its manager, fails waiting clients instead of hanging`, async () => {
    const handle = createMapHandle(logs, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'block', 60_000);
    const c = connectMap(handle, { node: 0, timeoutMs: 30_000 });
    const pending = c.writeAsync('put', 'k', 1);
    await node.worker.terminate();
    declareMapDead(handle, 0);
    await expect(pending).rejects.toBeInstanceOf(NodeGoneError);
  });
});

describe('client semantics', () => {
  it('8 threads on 2 nodes (2 replicas, 6 client workers) finish and converge', async () => {
    const handle = createHandle(HashMap, { replicas: 2, clients: 3, logBytes: 16384 });
    const control = newControl();
    const base = { handle, control, workers: 8, ops: 1500, keys: 100, writeRatio: 0.3, asyncShare: 0.5, record: false };
    const ins: KvWorkerInput[] = Array.from({ length: 8 }, (_, i) => ({
      ...base,
      client: i,
      seed: 500 + i,
      ...(i < 2 ? {} : { role: 'client' as const, node: i % 2 }),
    }));
    const outs = await runWorkers<KvWorkerInput, KvWorkerOutput>('kv-worker', ins, 120_000);
    expect(outs.map((o) => o.opsDone)).toEqual(Array(8).fill(1500));
    expect(outs[0]!.digest).toBe(outs[1]!.digest);
  });

  it('a client terminated mid-op leaves the node serving the others', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 4 });
    const node = await startNode(handle, 'serve');
    try {
      const victim = clientWorker(handle, BUSY_CLIENT);
      // Let it get going, then kill it at an arbitrary instruction.
      const probe = connect(handle, HashMap);
      const deadline = Date.now() + 20_000;
      while (probe.reads.get('sync') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await victim.terminate();
      expect(probe.writes.put('after', 1)).toBeUndefined();
      expect(probe.reads.get('after')).toBe(1);
      const other = connect(handle, HashMap);
      expect(await other.writeAsync('put', 'x', 2)).toBeUndefined();
      probe.close();
      other.close();
    } finally {
      await node.worker.terminate();
    }
  });
});

describe('client errors', () => {
  it('an op that fails to encode throws at the call site and sends nothing', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'serve');
    try {
      const c = connect(handle, HashMap);
      // @ts-expect-error booleans are not keys
      expect(() => c.writes.put(true, 1)).toThrow(EncodeError);
      // @ts-expect-error booleans are not keys
      await expect(c.writeAsync('put', false, 1)).rejects.toBeInstanceOf(EncodeError);
      expect(c.reads.size()).toBe(0);
      expect(c.inFlight).toBe(0);
      c.close();
      expect(() => c.reads.size()).toThrow(DetachedError);
    } finally {
      await node.worker.terminate();
    }
  });

  it('a full ring is back-pressure: every op, sync or async, waits at most the bound', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 1, clientSlots: 4 });
    // The node is stuck in a long synchronous loop: nobody drains the ring.
    const node = await startNode(handle, 'block', 1500);
    try {
      const c = connect(handle, HashMap, { node: node.slot, timeoutMs: 200 });
      const queued = Array.from({ length: 6 }, (_, i) => c.writeAsync('put', i, i));
      expect(c.inFlight).toBe(6);
      const t0 = Date.now();
      expect(() => c.writes.put('x', 1)).toThrow(BackpressureError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      // The 4 ops in the ring were sent: TimeoutError, outcome unknown. The 2
      // waiting for a free slot were never sent: BackpressureError.
      const settled = await Promise.allSettled(queued);
      const reasons = settled.map((r) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : 'fulfilled'));
      expect(reasons).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError', 'TimeoutError', 'BackpressureError', 'BackpressureError']);
      expect((settled[0] as PromiseRejectedResult).reason.committed).toBe('unknown');
      // Once the node comes back, the sent ones take effect, in order; the others never do.
      await node.next((m) => m.unblocked === true);
      const deadline = Date.now() + 10_000;
      while (c.reads.get(3) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect([0, 1, 2, 3, 4, 5].map((k) => c.reads.get(k))).toEqual([0, 1, 2, 3, undefined, undefined]);
      expect(c.reads.get('x')).toBeUndefined(); // the back-pressured sync op was never sent
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });

  it('a sync op with no answer within the bound is a TimeoutError', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'block', 1000);
    try {
      const c = connect(handle, HashMap, { node: node.slot, timeoutMs: 150 });
      expect(() => c.writes.put('late', 1)).toThrow(TimeoutError);
      await node.next((m) => m.unblocked === true);
      // The op was sent, so it still takes effect once the node serves again.
      const deadline = Date.now() + 10_000;
      let seen: unknown;
      while ((seen = c.reads.get('late')) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(seen).toBe(1);
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });

  it('connect needs client slots and a free one', async () => {
    const noClients = createHandle(HashMap, { replicas: 1 });
    expect(() => connect(noClients, HashMap)).toThrow(CapacityError);
    const handle = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'serve');
    try {
      const c = connect(handle, HashMap);
      expect(() => connect(handle, HashMap)).toThrow(CapacityError);
      c.close();
      connect(handle, HashMap).close(); // the slot is free again
    } finally {
      await node.worker.terminate();
    }
  });

  it('a client worker that exits gives its slot back', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'serve');
    try {
      const leaver = clientWorker(handle, `c.writes.put('left', 1); c.writeAsync('put', 'left', 2);`);
      await new Promise((r) => leaver.once('exit', r));
      const c = await connectWhenFree(handle);
      expect(c.reads.get('left')).toBe(2);
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });

  it('a client killed between setting the doorbell and notifying does not leave the node deaf to later rings', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 2 });
    const node = await startNode(handle, 'serve');
    try {
      const c = connect(handle, HashMap, { timeoutMs: 10_000 });
      expect(c.writes.put('before', 1)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 100)); // the node is back asleep on its bell
      // What a ringer leaves when it dies after its exchange and before its notify.
      const ctx = new SharedContext(handle.context!);
      Atomics.store(ctx.words, ctx.nodeAt(0) + DOORBELL, 1);
      // Every later ring sees the bell set and skips the notify; the node must still answer.
      expect(c.writes.put('after', 2)).toBeUndefined();
      expect(await c.writeAsync('put', 'async', 3)).toBeUndefined();
      expect(c.reads.get('after')).toBe(2);
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });

  it('a terminated client, declared dead by its manager, gives its slot back once the node answered what it sent', async () => {
    const handle = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(handle, 'serve');
    try {
      const victim = clientWorker(handle, BUSY_CLIENT);
      const victimThread = victim.threadId; // -1 once it has exited
      await new Promise((r) => victim.once('online', r));
      const deadline = Date.now() + 20_000;
      let taken = false;
      while (!taken && Date.now() < deadline) {
        try {
          connect(handle, HashMap).close();
          await new Promise((r) => setTimeout(r, 5));
        } catch (e) {
          if (!(e instanceof CapacityError)) throw e;
          taken = true;
        }
      }
      expect(taken).toBe(true); // the victim holds the only slot
      await new Promise((r) => setTimeout(r, 20)); // let it put ops in flight
      await victim.terminate();
      expect(() => connect(handle, HashMap)).toThrow(CapacityError); // terminate() ran no exit hook
      expect(declareClientDead(handle, victimThread)).toBe(1);
      expect(declareClientDead(handle, victimThread)).toBe(0);
      const c = await connectWhenFree(handle);
      expect(c.writes.put('after', 1)).toBeUndefined();
      expect(c.reads.get('after')).toBe(1);
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });
});
