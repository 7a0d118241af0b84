/**
 * A client closed with ops in flight. close() waits (bounded by timeoutMs)
 * for their answers; what it cannot wait for must say whether it may still
 * take effect. Before, every such op got DetachedError ("replica is
 * detached"), which says nothing of that, also for a write the node applied
 * right after: an adopter retrying it would apply it twice. Real worker
 * node, blocked so that the answers cannot come in time.
 */
import { describe, expect, it } from 'vitest';
import { threadId } from 'node:worker_threads';
import { BackpressureError, connect, createHandle, declareClientDead, declareDead, DetachedError, NodeGoneError, TimeoutError } from '../src/nr/index.js';
import { CLIENT_DONE, CLIENT_TAIL, SharedContext } from '../src/nr/clients/context.js';
import { HashMap } from '../src/nr/structures/index.js';
import { startNode } from './support/node-worker.js';

describe('client close() with ops in flight', () => {
  it("the node cannot answer within timeoutMs: a sent write fails with TimeoutError (committed 'unknown'), and it does take effect once the node runs", async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1 });
    const release = new SharedArrayBuffer(4);
    const node = await startNode(h, 'block', 5000, release);
    try {
      const c = connect(h, HashMap, { node: node.slot, timeoutMs: 300 });
      const p = c.writeAsync('put', 'k', 'v').then(() => 'answered', (e: unknown) => e);
      await Promise.resolve(); // published
      const t0 = performance.now();
      c.close();
      expect(performance.now() - t0).toBeLessThan(2000);
      const e = await p;
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as TimeoutError).committed).toBe('unknown');
      expect(() => c.reads.get('k')).toThrow(DetachedError); // closed for good
      Atomics.store(new Int32Array(release), 0, 1);
      Atomics.notify(new Int32Array(release), 0);
      await node.next((m) => m.unblocked === true);
      node.worker.postMessage({ get: 'k' });
      expect((await node.next((m) => 'value' in m)).value).toBe('v'); // it took effect: 'unknown' was the truth
    } finally {
      await node.worker.terminate();
    }
  });

  it("the node was declared dead before close(): the sent op fails with NodeGoneError committed 'unknown', the one still queued with committed false", async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1, clientSlots: 1 });
    const release = new SharedArrayBuffer(4);
    const node = await startNode(h, 'block', 5000, release);
    try {
      const c = connect(h, HashMap, { node: node.slot, timeoutMs: 5000 });
      const sent = c.writeAsync('put', 'a', 1).then(() => 'answered', (e: unknown) => e);
      const queued = c.writeAsync('put', 'b', 2).then(() => 'answered', (e: unknown) => e); // one slot: waits in the client
      await Promise.resolve();
      declareDead(h, node.slot);
      const t0 = performance.now();
      c.close();
      expect(performance.now() - t0).toBeLessThan(1000);
      const [e1, e2] = await Promise.all([sent, queued]);
      expect(e1).toBeInstanceOf(NodeGoneError);
      expect((e1 as NodeGoneError).committed).toBe('unknown');
      expect(e2).toBeInstanceOf(NodeGoneError);
      expect((e2 as NodeGoneError).committed).toBe(false);
    } finally {
      await node.worker.terminate();
    }
  });

  it('drain() ran out of time: the sent op fails with TimeoutError, the unsent one with BackpressureError, and the client reused after its late answer gets right answers (it got FailStopError, its ring count one behind)', async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1, clientSlots: 1 });
    const release = new SharedArrayBuffer(4);
    const node = await startNode(h, 'block', 5000, release);
    try {
      const c = connect(h, HashMap, { node: node.slot, timeoutMs: 300 });
      const outcomes: unknown[] = [];
      c.submitWrite('put', ['k', 'v'], (e) => outcomes.push(e));
      c.submitWrite('put', ['k2', 'v2'], (e) => outcomes.push(e)); // one slot: still in the client
      c.drain();
      expect(outcomes).toHaveLength(2);
      expect(outcomes[0]).toBeInstanceOf(TimeoutError);
      expect(outcomes[1]).toBeInstanceOf(BackpressureError);
      Atomics.store(new Int32Array(release), 0, 1);
      Atomics.notify(new Int32Array(release), 0);
      // The node answers the first put late (into the dropped op's slot).
      const ctx = new SharedContext(h.context!);
      const done = (): number => Atomics.load(ctx.words, ctx.clientAt(node.slot, 0) + CLIENT_DONE);
      const deadline = Date.now() + 10_000;
      while (done() === 0) {
        if (Date.now() > deadline) throw new Error('the node never answered');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(await c.readAsync('get', 'k')).toBe('v');
      expect(await c.writeAsync('put', 'k3', 'v3')).toBeUndefined();
      expect(await c.readAsync('get', 'k2')).toBeUndefined(); // never sent, never applied
      expect(await c.readAsync('get', 'k3')).toBe('v3');
      c.close();
    } finally {
      await node.worker.terminate();
    }
  });
});

describe('a live client declared dead', () => {
  it("declareClientDead on a client still in use: its next op fails with NodeGoneError (committed false), and the client that takes the slot gets its own answers (before, get('k2') on the new client answered 'k2', its own argument read back as the answer)", async () => {
    const h = createHandle(HashMap, { replicas: 1, clients: 1 });
    const node = await startNode(h, 'serve');
    try {
      const old = connect(h, HashMap, { node: node.slot, timeoutMs: 2000 });
      old.write('put', 'k1', 'one');
      old.write('put', 'k2', 'two');
      expect(declareClientDead(h, threadId)).toBe(1); // a manager's mistake: this thread is alive
      const next = connect(h, HashMap, { node: node.slot, timeoutMs: 2000 }); // takes the freed slot
      let e: unknown;
      try {
        old.read('get', 'k1');
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(NodeGoneError);
      expect((e as NodeGoneError).committed).toBe(false);
      expect((e as Error).message).toMatch(/no longer serves this client \(its slot was declared dead/);
      expect(next.read('get', 'k2')).toBe('two');
      expect(next.read('get', 'k1')).toBe('one');
      const ctx = new SharedContext(h.context!);
      const tailWord = ctx.clientAt(node.slot, 0) + CLIENT_TAIL;
      const tail = Atomics.load(ctx.words, tailWord);
      old.close();
      // The old client's close leaves the new one's ring alone (it published its stale TAIL there, and the node gathered garbage).
      expect(Atomics.load(ctx.words, tailWord)).toBe(tail);
      expect(next.read('get', 'k2')).toBe('two');
      next.close();
    } finally {
      await node.worker.terminate();
    }
  });
});
