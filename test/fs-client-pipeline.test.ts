/**
 * Pipelined NrFS client ops (preadAsync / pwriteAsync, client-pipeline.ts):
 * many in flight, taking effect and settling in the order they were made,
 * mixed with slow ops (partial-page writes) and synchronous calls; typed
 * errors reject with nothing written; a page register used by replica
 * threads and pipelining clients is linearizable; a client killed with ops
 * in flight leaves no page under its id once swept.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, connectFs, createFs, declareFsClientDead, FsArgumentError, FsError } from '../src/fs/index.js';
import { clientRequestsPending } from '../src/nr/index.js';
import { checkLinearizable, type Model } from '../src/lincheck/index.js';
import { ClientPipeline, type PipelineHost } from '../src/fs/client-pipeline.js';
import { newControl } from './support/barrier.js';
import { heldBy, next, nodeWorker, spawn } from './support/fs-client-workers.js';
import { runWorkers } from './support/spawn.js';
import type { FileOp, FileOpOutput, FsWorkerInput, FsWorkerOutput } from './workers/fs-worker.js';

const PAGE = 4096;

/** Page 0 of a file as a register (fs-worker's pageRegister mode): starts as 'init'. */
const pageRegisterModel: Model<string, FileOp, FileOpOutput> = {
  name: 'page-register',
  init: 'init',
  step(state, input) {
    if (input.op === 'read') return { state, output: state };
    if (input.op === 'write') return { state: input.value, output: undefined };
    throw new Error('no unlink in this workload');
  },
  hash: (state) => state,
  readOnly: (input) => input.op === 'read',
};

describe('NrFS client pipelined ops', () => {
  it('take effect and settle in the order they were made, mixed with partial writes and synchronous calls', async () => {
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 << 20 });
    const { slot } = await nodeWorker(h);
    const c = connectFs(h, { node: slot });
    c.writeFile('/p', Buffer.alloc(4 * PAGE, 0));
    const fd = c.open('/p', 'r+');
    // The model: what the file holds after each op, in issue order (this client is its only writer).
    const model = Buffer.alloc(4 * PAGE, 0);
    const settled: number[] = [];
    const checks: Promise<void>[] = [];
    for (let k = 0; k < 400; k++) {
      const page = k % 4;
      const kind = k % 5;
      const at = page * PAGE;
      if (kind === 0 || kind === 3) {
        // A whole page: the fast path (one request).
        const b = Buffer.alloc(PAGE, (k % 250) + 1);
        model.fill((k % 250) + 1, at, at + PAGE);
        checks.push(c.pwriteAsync(fd, b, 0, PAGE, at).then((n) => {
          expect(n).toBe(PAGE);
          settled.push(k);
        }));
        b.fill(0); // the bytes were copied at the call
      } else if (kind === 1) {
        // Part of a page: a slow op (it merges with the page as the ops before it left it).
        const b = Buffer.alloc(100, 0xf0 + (k % 10));
        model.fill(0xf0 + (k % 10), at + 10, at + 110);
        checks.push(c.pwriteAsync(fd, b, 0, 100, at + 10).then((n) => {
          expect(n).toBe(100);
          settled.push(k);
        }));
        b.fill(0); // copied at the call too, though written later
      } else {
        const b = Buffer.alloc(PAGE);
        const expected = Buffer.from(model.subarray(at, at + PAGE));
        checks.push(c.preadAsync(fd, b, 0, PAGE, at).then((n) => {
          expect(n).toBe(PAGE);
          expect(b.equals(expected)).toBe(true);
          settled.push(k);
        }));
      }
      if (k === 200) {
        // A synchronous call comes after every pipelined op made before it.
        const b = Buffer.alloc(4 * PAGE);
        expect(c.pread(fd, b, 0, 4 * PAGE, 0)).toBe(4 * PAGE);
        expect(b.equals(model)).toBe(true);
      }
    }
    expect(c.pipeline.inFlight).toBeGreaterThan(0);
    await Promise.all(checks);
    expect(settled).toEqual(Array.from({ length: 400 }, (_, k) => k));
    // A read past the end is short, as pread's.
    const tail = Buffer.alloc(PAGE);
    expect(await c.preadAsync(fd, tail, 0, PAGE, 4 * PAGE - 10)).toBe(10);
    expect(c.readFile('/p').equals(model)).toBe(true);
    c.close(fd);
    c.detach();
  });

  it('refuses with typed errors, rejecting (never throwing), with nothing written', async () => {
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 * PAGE });
    const { slot } = await nodeWorker(h);
    const c = connectFs(h, { node: slot });
    c.writeFile('/r', 'x');
    const ro = c.open('/r', 'r');
    const rw = c.open('/big', 'w+');
    await expect(c.pwriteAsync(ro, Buffer.alloc(PAGE), 0, PAGE, 0)).rejects.toMatchObject({ code: 'EBADF', syscall: 'write' });
    await expect(c.preadAsync(99, Buffer.alloc(PAGE), 0, PAGE, 0)).rejects.toMatchObject({ code: 'EBADF', syscall: 'read' });
    await expect(c.preadAsync(rw, Buffer.alloc(10), 0, 20, 0)).rejects.toBeInstanceOf(FsArgumentError);
    await expect(c.pwriteAsync(rw, Buffer.alloc(PAGE), 0, PAGE, -1)).rejects.toBeInstanceOf(FsArgumentError);
    // Past the capacity (16 pages, one used by /r): the writes of the pages that fit succeed, in order, the others are ENOSPC.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, k) => c.pwriteAsync(rw, Buffer.alloc(PAGE, k + 1), 0, PAGE, k * PAGE)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(15);
    expect(results.slice(0, 15).every((r) => r.status === 'fulfilled')).toBe(true);
    for (const r of results.slice(15)) expect(r).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ code: 'ENOSPC' }) });
    expect((results[15] as PromiseRejectedResult).reason).toBeInstanceOf(FsError);
    expect(c.fstat(rw).size).toBe(15 * PAGE);
    // The refused writes' pages came back to the client (its cache), none was lost.
    expect(c.pageStats().cached).toBe(5);
    c.close(ro);
    c.close(rw);
    c.detach();
  });

  it('a page register used by 2 replica threads and 2 clients pipelining 4 ops each is linearizable, each client in issue order', async () => {
    const handle = createFs({ replicas: 2, clients: 2, logBytes: 1 << 18 });
    const setup = attachFs(handle);
    const init = Buffer.alloc(PAGE);
    init.write('init', 'latin1');
    setup.writeFile('/preg', init);
    setup.detach();
    const control = newControl();
    const inputs: FsWorkerInput[] = Array.from({ length: 4 }, (_, index) => ({
      mode: 'pageRegister',
      handle,
      control,
      index,
      workers: 4,
      rounds: 60,
      seed: 3000 + index,
      ...(index >= 2 ? { client: true, window: 4 } : { outlastClients: 2 }),
    }));
    const outs = await runWorkers<FsWorkerInput, FsWorkerOutput>('fs-worker', inputs, 60_000);
    const history = outs.flatMap((o) => o.history);
    for (const o of outs.slice(2)) {
      expect(o.history.length).toBe(60);
      // Settled in issue order: the order of the history is the order of the call stamps.
      const calls = o.history.map((h) => h.call);
      expect(calls).toEqual([...calls].sort((a, b) => a - b));
      // Ops overlapped: some op was issued before the one before it settled.
      expect(o.history.some((h, i) => i > 0 && h.call < o.history[i - 1]!.ret!)).toBe(true);
      expect(o.history.some((h) => h.input.op === 'read' && typeof h.output === 'string' && h.output.startsWith('v'))).toBe(true);
    }
    if (process.env.DUMP_HISTORY) (await import('node:fs')).writeFileSync(process.env.DUMP_HISTORY, JSON.stringify(history));
    const verdict = checkLinearizable(pageRegisterModel, history);
    expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
  });

  it('a client killed with pipelined writes in flight leaves no page under its id once swept; each page holds one whole write', async () => {
    const h = createFs({ replicas: 2, clients: 1, capacityBytes: 16 << 20 });
    const node = await nodeWorker(h);
    const main = attachFs(h);
    main.writeFile('/k', Buffer.alloc(8 * PAGE, 0));
    const w = spawn({ handle: h, mode: 'pipeline' });
    const m = await next<{ inFlight: number; threadId: number; owner: number }>(w);
    expect(m.inFlight).toBeGreaterThan(0);
    await w.terminate();
    expect(declareFsClientDead(h, m.threadId)).toEqual([m.owner]);
    // The node answers what the client had sent (nobody reads it) before the id can be swept.
    for (let i = 0; i < 200 && clientRequestsPending(h.nr, m.threadId) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(clientRequestsPending(h.nr, m.threadId)).toBe(0);
    expect(main.releaseClients()).toBe(1);
    node.w.postMessage('sync');
    await next(node.w);
    main.pageStats();
    expect(heldBy(h, m.owner)).toEqual({ taken: 0, retiring: 0 });
    // Each page holds one write whole (every byte the same), and only the file's 8 pages are in use.
    const data = main.readFile('/k');
    for (let p = 0; p < 8; p++) {
      const b = data.subarray(p * PAGE, (p + 1) * PAGE);
      expect(b.every((x) => x === b[0])).toBe(true);
    }
    expect(main.usage().pages).toBe(8);
    main.detach();
  });
});

describe('the read grace with clients', () => {
  it('a page a client\'s answered but uncopied read names is not reused until the client is declared dead; then it is freed', async () => {
    // One replica, on this thread: it serves the client, applies every write and retires what they displace.
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 << 20 });
    const main = attachFs(h);
    main.writeFile('/g', Buffer.alloc(PAGE, 1));
    const w = spawn({ handle: h, mode: 'reads' });
    const m = await next<{ threadId: number; owner: number }>(w);
    // Served (from this thread's event loop) but never copied: the client is blocked.
    for (let i = 0; i < 200 && clientRequestsPending(h.nr, m.threadId) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(clientRequestsPending(h.nr, m.threadId)).toBe(0);
    const fd = main.open('/g', 'r+');
    main.pwrite(fd, Buffer.alloc(PAGE, 2), 0, PAGE, 0); // displaces the page the 8 answers name
    expect(main.reclaimPages()).toBe(0);
    expect(main.pageStats().retiring).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(main.reclaimPages()).toBe(0); // still held: the client may copy it any moment
    await w.terminate();
    expect(declareFsClientDead(h, m.threadId)).toEqual([m.owner]);
    expect(main.reclaimPages()).toBe(1);
    expect(main.pageStats().retiring).toBe(0);
    expect(main.readFile('/g').equals(Buffer.alloc(PAGE, 2))).toBe(true);
    main.close(fd);
    main.detach();
  });
});

describe('a replica that only serves clients', () => {
  it('frees the pages its clients\' writes retired with reclaimPages', async () => {
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 << 20 });
    const node = await nodeWorker(h);
    const c = connectFs(h, { node: node.slot });
    c.writeFile('/r', Buffer.alloc(PAGE, 1));
    const fd = c.open('/r', 'r+');
    // 50 overwrites of page 0: each displaces the page before it, retired by the node's replica (the only one).
    await Promise.all(Array.from({ length: 50 }, (_, k) => c.pwriteAsync(fd, Buffer.alloc(PAGE, k + 2), 0, PAGE, 0)));
    expect(heldBy(h, node.slot).retiring).toBe(50);
    node.w.postMessage('reclaim');
    expect(await next(node.w)).toEqual({ freed: 50, retiring: 0 });
    expect(heldBy(h, node.slot).retiring).toBe(0);
    node.w.postMessage('reclaim');
    expect(await next(node.w)).toEqual({ freed: 0, retiring: 0 });
    const b = Buffer.alloc(PAGE);
    expect(await c.preadAsync(fd, b, 0, PAGE, 0)).toBe(PAGE);
    expect(b.equals(Buffer.alloc(PAGE, 51))).toBe(true);
    c.close(fd);
    c.detach();
  });
});

describe('ClientPipeline (a host that answers by hand)', () => {
  /** A host that records requests in the order sent and lets the test answer them; copies fail while `reused` names the read's pos. */
  function fakeHost() {
    const sent: { kind: 'read' | 'write'; pos: number; done: (e: unknown, v?: unknown) => void }[] = [];
    const reused = new Set<number>();
    const given: number[] = [];
    let nextRef = 0;
    /** The read fence as published: SENT and every LOW stored, in order. */
    const fence = { sent: 0, lows: [] as number[], send: () => fence.sent++, low: (n: number) => void fence.lows.push(n) };
    const host: PipelineHost = {
      fence,
      pages: { pool: { bytes: new Uint8Array(64 * PAGE) }, take: () => nextRef++, give: (r: number) => void given.push(r), doubt: () => {} } as unknown as PipelineHost['pages'],
      readPages: 4,
      sendRead: (_ino, pos, _len, _readNo, done) => void sent.push({ kind: 'read', pos, done }),
      sendWrite: (_ino, _now, pos, _len, _refs, done) => void sent.push({ kind: 'write', pos, done }),
      checkRefs: (r) => (r as number[])[0]!,
      copyPages: (r, buf, off, n, pos) => {
        if (reused.delete(pos)) return false;
        buf.fill((r as number[])[1]!, off, off + n);
        return true;
      },
      drainRequests: () => {},
      rang: () => {},
    };
    return { host, sent, reused, given, fence };
  }

  it('sends a write at once behind unsettled reads, asks a read whose pages were reused again with every later read (not the write), in order', async () => {
    const { host, sent, reused, fence } = fakeHost();
    const p = new ClientPipeline(host);
    const order: string[] = [];
    const b1 = Buffer.alloc(PAGE);
    const b2 = Buffer.alloc(PAGE);
    const r1 = p.read(1, b1, 0, PAGE, 0, () => -1).then((n) => order.push(`r1 ${n} ${b1[0]}`));
    const w2 = p.write(1, Buffer.alloc(PAGE, 7), 0, false, () => -1).then((n) => order.push(`w2 ${n}`));
    const r3 = p.read(1, b2, 0, PAGE, PAGE, () => -1).then((n) => order.push(`r3 ${n} ${b2[0]}`));
    // No wait for r1: the replicas' read grace keeps r1's pages from reuse until it copied them.
    expect(sent.map((s) => `${s.kind}@${s.pos}`)).toEqual(['read@0', 'write@0', 'read@4096']);
    expect(fence.sent).toBe(2);
    expect(fence.lows).toEqual([]); // LOW stays at r1's number, 0
    reused.add(0);
    sent[0]!.done(undefined, [PAGE, 1]); // r1's copy finds a page reused (a forged or tampered case): r1 and r3 are asked again
    expect(fence.lows).toEqual([2]); // r1 is now read number 2
    sent[1]!.done(undefined, PAGE);
    sent[2]!.done(undefined, [PAGE, 2]); // r3's first answer, dropped
    expect(sent.map((s) => `${s.kind}@${s.pos}`)).toEqual(['read@0', 'write@0', 'read@4096', 'read@0', 'read@4096']);
    sent[3]!.done(undefined, [PAGE, 3]);
    expect(fence.lows).toEqual([2, 3]); // r1 copied: the oldest read left is r3, number 3
    sent[4]!.done(undefined, [PAGE, 4]);
    await Promise.all([r1, w2, r3]);
    expect(order).toEqual(['r1 4096 3', 'w2 4096', 'r3 4096 4']);
    expect(fence.lows).toEqual([2, 3, 4]); // nothing left: LOW = SENT
    expect(p.idle).toBe(true);
  });

  it('a failed write gives its pages back (not logged) and the ops after it still settle in order; a bad answer is a FailStopError', async () => {
    const { host, sent, given } = fakeHost();
    const p = new ClientPipeline(host);
    const w1 = p.write(1, Buffer.alloc(2 * PAGE), 0, false, () => -1);
    const w2 = p.write(1, Buffer.alloc(PAGE), 8 * PAGE, false, () => -1);
    const settled: string[] = [];
    const a = w1.then(() => settled.push('w1'), (e: FsError) => settled.push(`w1 ${e.code}`));
    const b = w2.then(() => settled.push('w2'), (e: Error) => settled.push(`w2 ${e.constructor.name}`));
    sent[1]!.done(undefined, 12345); // answered first, settled second
    sent[0]!.done(new FsError('ENOSPC', 'write'));
    await Promise.all([a, b]);
    expect(settled).toEqual(['w1 ENOSPC', 'w2 FailStopError']);
    expect(given).toEqual([0, 1]); // w1's two pages; w2's page is doubtful (its answer cannot be trusted)
  });
});
