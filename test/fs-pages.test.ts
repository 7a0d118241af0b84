/**
 * NrFS file data in the shared page pool (issue 17): writes copy their
 * bytes once into fresh pages, replicas apply page-table updates, reads
 * copy out of the pages their own table names; displaced pages come back
 * once every replica passed them; partial writes of one page by two
 * writers merge in log order; forged page refs fail-stop; pages of a
 * writer killed at any phase of a write are taken over by a live thread.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFs, type NrFsHandle } from '../src/fs/index.js';
import { genOf, LIVE, ownerOf, RETIRING, stOf, TAKEN } from '../src/fs/pages/pool.js';
import { checkLinearizable, type Model, type Operation } from '../src/lincheck/index.js';
import { declareDead, FailStopError } from '../src/nr/index.js';
import { newControl } from './support/barrier.js';
import { records, ring } from './support/kv-log.js';
import { workerPath } from './support/spawn.js';
import { RECORD_WORDS, REG_BYTES, RELEASED, type PageWriterInput, type WritePhase } from './support/fs-pages.js';

/** Pages of the pool by state (and owner slot for TAKEN/RETIRING), read straight from the shared words. */
function census(h: NrFsHandle): { live: number; taken: Map<number, number>; retiring: Map<number, number> } {
  const words = new Int32Array(h.pool.meta);
  const pages = h.pool.data.byteLength / 4096;
  const out = { live: 0, taken: new Map<number, number>(), retiring: new Map<number, number>() };
  for (let i = 0; i < pages; i++) {
    const w = Atomics.load(words, 64 + i);
    if (stOf(w) === LIVE) out.live++;
    else if (stOf(w) === TAKEN) out.taken.set(ownerOf(w), (out.taken.get(ownerOf(w)) ?? 0) + 1);
    else if (stOf(w) === RETIRING) out.retiring.set(ownerOf(w), (out.retiring.get(ownerOf(w)) ?? 0) + 1);
  }
  return out;
}

describe('NrFS shared pages', () => {
  it('replicas share one copy of the data; displaced pages are reused once every replica passed them', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20, logBytes: 1 << 16 });
    const a = attachFs(h);
    const b = attachFs(h);
    const fd = a.open('/f', 'w+');
    for (let i = 0; i < 200; i++) {
      a.pwrite(fd, Buffer.alloc(4096, i), 0, 4096, 0);
      expect(b.readFile('/f')[4095]).toBe(i & 0xff);
    }
    // One page live; overwrites recycled a handful of pages, not 200.
    expect(census(h).live).toBe(1);
    expect(a.pageStats().touchedPages).toBeLessThan(40);
    // b stops reading: a's displaced pages wait for it, then come back once b catches up.
    for (let i = 0; i < 20; i++) a.pwrite(fd, Buffer.alloc(4096, 7), 0, 4096, 0);
    expect(a.pageStats().retiring).toBeGreaterThan(0);
    b.replica.sync();
    expect(a.pageStats().retiring).toBe(0);
    expect(census(h).live).toBe(1);
    a.close(fd);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });

  it('a partial write merges with the page it replaces, in log order: two writers of one page lose nothing', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20, logBytes: 1 << 16 });
    // a's write is stopped after it merged its page and before it logged: b writes the same page then.
    let interleave: (() => void) | null = null;
    const a = attachFs(h, { pageHooks: { afterStage: () => { const f = interleave; interleave = null; f?.(); } } });
    const b = attachFs(h);
    a.writeFile('/p', Buffer.alloc(4096 * 2, 0x2e));
    const fa = a.open('/p', 'r+');
    const fb = b.open('/p', 'r+');
    interleave = () => b.pwrite(fb, Buffer.from('BBBB'), 0, 4, 4094);
    a.pwrite(fa, Buffer.from('AAAA'), 0, 4, 4090);
    const want = Buffer.alloc(4096 * 2, 0x2e);
    want.write('AAAA', 4090);
    want.write('BBBB', 4094);
    expect(a.readFile('/p').equals(want)).toBe(true);
    expect(b.readFile('/p').equals(want)).toBe(true);
    expect(a.pageStats().conflicts).toBe(1);
    // Appends conflict the same way when the end moved: both land, in log order.
    const ap = a.open('/p', 'a');
    interleave = () => b.writeFile('/p', 'tail-b', { flag: 'a' });
    a.write(ap, 'tail-a');
    expect(b.readFile('/p').subarray(8192).toString()).toBe('tail-btail-a');
    a.close(ap);
    a.close(fa);
    b.close(fb);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });

  it('a truncate into a page rewrites that page: the cut part reads zeros when the file grows again', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20 });
    const a = attachFs(h);
    const b = attachFs(h);
    a.writeFile('/t', Buffer.alloc(9000, 0xff));
    const before = b.readFile('/t');
    a.truncate('/t', 5000);
    a.truncate('/t', 9000);
    const after = b.readFile('/t');
    expect(after.subarray(0, 5000).equals(before.subarray(0, 5000))).toBe(true);
    expect(after.subarray(5000).equals(Buffer.alloc(4000))).toBe(true);
    expect(b.usage().pages).toBe(2);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });

  it('a state transfer ships page tables: a late joiner reads the data without copying it', () => {
    const h = createFs({ replicas: 1, maxReplicas: 2, capacityBytes: 4 << 20 });
    const a = attachFs(h);
    a.writeFile('/big', Buffer.alloc(1 << 20, 0x5a));
    const touched = a.pageStats().touchedPages;
    const late = attachFs(h);
    expect((late.replica.stats() as { stateTransfers: number }).stateTransfers).toBe(1);
    expect(late.readFile('/big').equals(Buffer.alloc(1 << 20, 0x5a))).toBe(true);
    expect(late.pageStats().touchedPages).toBe(touched);
    a.detach();
    late.detach();
  });

  it('a forged page ref in a log entry fail-stops the replica that applies it, and nothing outside the pool is read', () => {
    for (const forge of ['outside the pool', 'a page nobody took'] as const) {
      const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20, logBytes: 1 << 16 });
      const a = attachFs(h);
      const b = attachFs(h);
      const fd = a.open('/f', 'w');
      b.replica.sync();
      a.pwrite(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
      const ref = liveRef(h);
      expect(ref).toBeGreaterThanOrEqual(0);
      const bad = forge === 'outside the pool' ? h.pool.data.byteLength / 4096 + 3 : ref + 2 ** 22;
      // The ref is an f64 in the newest record: find it by value and overwrite it.
      const rec = records(h as never).at(-1)!;
      const data = ring(h as never);
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = -1;
      for (let off = rec.at; off + 8 <= rec.at + rec.len; off++) if (view.getFloat64(off, true) === ref) at = off;
      expect(at).toBeGreaterThanOrEqual(0);
      view.setFloat64(at, bad, true);
      expect(() => b.readFile('/f')).toThrow(FailStopError);
      a.close(fd);
      a.detach();
    }
  });

  for (const [op, phase] of (['pwrite', 'ftruncate'] as const).flatMap((o) => (['afterTake', 'afterStage', 'reserve', 'afterLog'] as WritePhase[]).map((p) => [o, p] as const))) {
    it(`a writer killed at ${phase} of a ${op}: its pages are taken over and the file holds the old or the new bytes, whole`, async () => {
      const h = createFs({ replicas: 2, maxReplicas: 3, capacityBytes: 1 << 20, fenceAfterMs: 300 });
      const main = attachFs(h);
      main.writeFile('/f', Buffer.alloc(8192, 0x6f));
      const worker = new Worker(workerPath('fs-page-writer'), {
        workerData: { mode: 'phase', phase, op, handle: h, control: newControl(), index: 0, workers: 1, rounds: 0, seed: 0 } satisfies PageWriterInput,
      });
      try {
        const m = await new Promise<{ stopped?: string; slot: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        expect(m.stopped).toBe(phase);
        await worker.terminate();
        declareDead(h.nr, m.slot);
        main.releaseSlot(m.slot);
        let want = Buffer.alloc(8192, 0x6f);
        if (phase === 'afterLog' && op === 'pwrite') want.fill(0x6e, 4000, 4200);
        if (phase === 'afterLog' && op === 'ftruncate') want = want.subarray(0, 4500);
        const got = main.readFile('/f');
        expect([got.length, got.indexOf(0), got.equals(want)]).toEqual([want.length, -1, true]);
        const c = census(h);
        expect(c.taken.get(m.slot) ?? 0).toBe(0);
        expect(c.retiring.get(m.slot) ?? 0).toBe(0);
        expect(c.live).toBe(main.usage().pages);
        // Everything taken over is freed once every live replica passed it: nothing retiring is left.
        expect(main.pageStats().retiring).toBe(0);
        expect(census(h).retiring.size).toBe(0);
      } finally {
        await worker.terminate();
        main.detach();
      }
    });
  }
});

/** The ref of the one LIVE page (test files here hold one page). */
function liveRef(h: NrFsHandle): number {
  const words = new Int32Array(h.pool.meta);
  const pages = h.pool.data.byteLength / 4096;
  for (let i = 0; i < pages; i++) {
    const w = Atomics.load(words, 64 + i);
    if (stOf(w) === LIVE) return genOf(w) * 2 ** 22 + i;
  }
  return -1;
}

/** 16 bytes of a file, as a register written in overlapping ranges. */
type RangeOp = { readonly op: 'read' } | { readonly op: 'write'; readonly off: number; readonly len: number; readonly byte: number };
const rangeModel: Model<string, RangeOp, string | undefined> = {
  name: 'file-range',
  init: 'z'.repeat(REG_BYTES),
  step(state, input) {
    if (input.op === 'read') return { state, output: state };
    const s = state.slice(0, input.off) + String.fromCharCode(input.byte).repeat(input.len) + state.slice(input.off + input.len);
    return { state: s, output: undefined };
  },
  hash: (state) => state,
  readOnly: (input) => input.op === 'read',
};

describe('NrFS partial writes under kills', () => {
  it('overlapping writes across a page boundary by 3 workers, one killed mid-run, are linearizable', async () => {
    const workers = 3;
    const rounds = 150;
    const h = createFs({ replicas: workers + 1, maxReplicas: workers + 1, capacityBytes: 1 << 20, fenceAfterMs: 500 });
    const main: NrFs = attachFs(h);
    main.writeFile('/r', Buffer.alloc(8192, 0x7a));
    const control = newControl();
    const words = new Int32Array(control);
    Atomics.store(words, 0, 1); // stamps start at 1: 0 marks an op that never started
    const recs = new SharedArrayBuffer(workers * rounds * RECORD_WORDS * 4);
    const ws = Array.from({ length: workers }, (_, index) =>
      new Worker(workerPath('fs-page-writer'), {
        workerData: { mode: 'register', handle: h, control, records: recs, index, workers, rounds, seed: 77 + index } satisfies PageWriterInput,
      }),
    );
    try {
      const slots = await Promise.all(ws.map((w) => new Promise<number>((resolve, reject) => {
        w.once('message', (m: { slot: number }) => resolve(m.slot));
        w.once('error', reject);
      })));
      const finished = ws.slice(1).map((w) => new Promise<string>((resolve, reject) => {
        w.once('message', (m: { digest: string }) => resolve(m.digest));
        w.once('error', reject);
      }));
      // Kill worker 0 once it is a third of the way through (bounded wait), wherever it is in its write.
      const deadline = Date.now() + 30_000;
      while (Atomics.load(words, 40) < rounds / 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      await ws[0]!.terminate();
      declareDead(h.nr, slots[0]!);
      main.releaseSlot(slots[0]!);
      Atomics.store(words, RELEASED, 1);
      Atomics.notify(words, RELEASED);
      const digests = await Promise.all(finished);
      main.replica.sync();
      expect(new Set([...digests, main.replica.digest()]).size).toBe(1);
      const history = readHistory(recs, workers, rounds);
      expect(history.filter((o) => o.ret === undefined).length).toBeLessThanOrEqual(1);
      const verdict = checkLinearizable(rangeModel, history);
      expect(verdict, verdict.verdict === 'violation' ? verdict.explanation : undefined).toMatchObject({ verdict: 'linearizable' });
      const c = census(h);
      expect(c.taken.get(slots[0]!) ?? 0).toBe(0);
      expect(c.live).toBe(main.usage().pages);
    } finally {
      await Promise.all(ws.map((w) => w.terminate()));
      main.detach();
    }
  });
});

function readHistory(recs: SharedArrayBuffer, workers: number, rounds: number): Operation<RangeOp, string | undefined>[] {
  const all = new Int32Array(recs);
  const out: Operation<RangeOp, string | undefined>[] = [];
  for (let w = 0; w < workers; w++) {
    for (let k = 0; k < rounds; k++) {
      const at = (w * rounds + k) * RECORD_WORDS;
      const call = Atomics.load(all, at);
      if (call === 0) break;
      const ret = Atomics.load(all, at + 1);
      const write = all[at + 2] === 1;
      const input: RangeOp = write ? { op: 'write', off: all[at + 3]!, len: all[at + 4]!, byte: all[at + 5]! } : { op: 'read' };
      if (ret < 0) out.push({ client: w, call, input });
      else {
        const output = write ? undefined : String.fromCharCode(...Array.from(all.subarray(at + 6, at + 6 + REG_BYTES)));
        out.push({ client: w, call, ret, input, output });
      }
    }
  }
  return out;
}

describe('a client read with forged arguments (the node decodes them from the client slot)', () => {
  it('is EINVAL, never refs of pages below 0 nor an answer that never advances', () => {
    const h = createFs({ replicas: 1, maxReplicas: 1, capacityBytes: 1 << 20 });
    const fs = attachFs(h);
    const fd = fs.open('/f', 'w+');
    fs.write(fd, Buffer.alloc(3 * 4096, 7), 0, 3 * 4096, 0);
    const ino = fs.fstat(fd).ino;
    const reads = (fs as unknown as { node: { reads: { pageRefs(ino: number, pos: number, len: number, maxPages: number): number[] } } }).node.reads;
    expect(reads.pageRefs(ino, 0, 8192, 4)[0]).toBe(8192);
    for (const [pos, len, maxPages] of [[-1e12, 4096, 4], [0.5, 4096, 4], [0, -1, 4], [0, 4096, 0], [0, 4096, 1.5], [Number.NaN, 4096, 4]]) {
      expect(() => reads.pageRefs(ino, pos!, len!, maxPages!), `pos ${pos}, len ${len}, maxPages ${maxPages}`).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    fs.close(fd);
  });
});
