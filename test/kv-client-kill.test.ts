/**
 * A KV client killed at each phase of its window strands none of its
 * blocks: each put's block is noted in the client block table when it is
 * allocated, and after declareKvClientDead a replica's sync frees those no
 * logged record names (client-blocks.ts). Until session 19 every block of
 * a put not logged yet was lost for good (108 blocks, 26.8 KB, per kill in
 * kv-lifecycle): 40 kills here would fill the arena about 4 times over.
 *
 * Phases (the client thread is stopped at a known point, then terminated):
 * sealed (the window's puts are sealed, nothing sent), sent (the records
 * in its 2 client slots sent to a node that is frozen, logged only after
 * the client died; the rest of the window has sequence numbers but was
 * never published), logged (what its slots held logged and answered, the
 * answers unread), and mid (killed while its window streams, at whatever
 * point it reached).
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { clientRequestsPending } from '../src/nr/index.js';
import { attachKv, createKv, declareKvClientDead, type KvHandle, type KvStore } from '../src/kv/index.js';
import { blockBytesFor } from '../src/kv/arena.js';
import { regionAt } from '../src/kv/client-blocks.js';
import type { Meta } from '../src/kv/enclave.js';
import { spawnKvWorker, type KvWorkerCalls } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(19);
/** 24 + 104 + 16 = 144 stored bytes: a whole size class, so live bytes and block bytes agree. */
const VALUE = 'v'.repeat(104);
const BLOCK = blockBytesFor(24 + VALUE.length + 16);
const PUTS = 100;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Arena bytes neither live, nor on a free list, nor displaced and waiting: lost. */
function stranded(s: KvStore): number {
  s.sync();
  const st = s.stats();
  return st.arenaUsedBytes - st.liveBytes - st.arenaFreeBytes - st.pendingReclaimBytes;
}

async function spawnClient(h: KvHandle, node: number): Promise<{ w: KvWorkerCalls; worker: Worker }> {
  const w = spawnKvWorker(workers, { mode: 'client', handle: h, key: KEY, connect: { node, timeoutMs: 5000 } });
  expect((await w.first).ready).toBe(true);
  return { w, worker: workers[workers.length - 1]! };
}

/** Terminate the client, declare it dead, and wait (bounded) until none of its requests can reach the log. */
async function kill(h: KvHandle, worker: Worker): Promise<void> {
  const tid = worker.threadId;
  await worker.terminate();
  workers.splice(workers.indexOf(worker), 1);
  expect(declareKvClientDead(h, tid)).toBe(1);
  const deadline = Date.now() + 10_000;
  while (clientRequestsPending(h.nr, tid) !== 0) {
    if (Date.now() > deadline) throw new Error('the dead client\'s requests are still pending after 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(arenaBytes: number): Promise<{ h: KvHandle; server: KvWorkerCalls; nodeSlot: number; main: KvStore }> {
  const h = createKv({ key: KEY, arenaBytes, log: { logBytes: 1 << 18, clients: 1, clientSlots: 2, clientSlotBytes: 1024 } });
  const server = spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY });
  const { slot } = await server.first;
  const main = attachKv(h, { key: KEY });
  return { h, server, nodeSlot: slot!, main };
}

const PHASES = ['sealed', 'sent', 'logged', 'mid'] as const;

describe('a KV client killed mid-window', () => {
  it('40 kills, 10 at each phase, through a 256 KiB arena: no block stranded (the mid-window ones: at most the one being allocated), every acknowledged put reads back, the rest whole or absent', async () => {
    const { h, server, nodeSlot, main } = await setup(256 << 10);
    let sealedBytes = 0;
    const seen = { sealed: 0, sent: 0, logged: 0, mid: 0 };
    for (let round = 0; round < 40; round++) {
      const phase = PHASES[round % PHASES.length]!;
      const { w, worker } = await spawnClient(h, nodeSlot);
      const before = stranded(main);
      const prefix = `${phase}${round}:`;
      const ops: unknown[][] = [];
      for (let i = 0; i < PUTS; i++) ops.push(['putAsync', `${prefix}${i}`, VALUE]);
      ops.push(['batchAsync', [{ type: 'put', key: `${prefix}a`, value: 'A' }, { type: 'put', key: `${prefix}b`, value: 'B' }]]);
      const ack = new Int32Array(new SharedArrayBuffer(4 * PUTS));
      if (phase === 'sealed') expect((await w.call('sealThenFreeze', ops, 20_000)).ok).toBe(true);
      else if (phase === 'sent') {
        expect((await server.call('freeze', [], 400)).ok).toBe(true);
        expect((await w.call('flushThenFreeze', ops, 20_000)).ok).toBe(true);
      } else if (phase === 'logged') {
        // The records in the client's 2 slots get logged and answered (answers unread); the rest of the
        // window waits in the client (sequence numbers taken, never published). Wait until the log stops growing.
        expect((await w.call('flushThenFreeze', ops, 20_000)).ok).toBe(true);
        const deadline = Date.now() + 10_000;
        for (let last = -1, since = Date.now(); ; ) {
          if (Date.now() > deadline) throw new Error('the node did not settle the window in 10 s');
          main.sync();
          const n = main.scan({ prefix }).length;
          if (n !== last) [last, since] = [n, Date.now()];
          else if (n > 0 && Date.now() - since > 200) break;
          await new Promise((r) => setTimeout(r, 5));
        }
            } else {
        expect((await w.call('putsTracked', prefix, PUTS, VALUE, ack.buffer)).ok).toBe(true);
        const deadline = Date.now() + 10_000;
        while (!main.has(`${prefix}0`)) {
          if (Date.now() > deadline) throw new Error('the node logged none of the window in 10 s');
          await new Promise((r) => setTimeout(r, 1));
          main.sync();
        }
      }
      await kill(h, worker);
      sealedBytes += PUTS * BLOCK;
      const lost = stranded(main) - before;
      if (phase === 'mid') expect(lost, `round ${round}`).toBeLessThanOrEqual(BLOCK);
      else expect(lost, `round ${round} (${phase})`).toBe(0);
      let written = 0;
      for (let i = 0; i < PUTS; i++) {
        const got = main.getString(`${prefix}${i}`);
        if (got !== undefined) expect(got).toBe(VALUE);
        if (Atomics.load(ack, i) === 1) expect(got, `acknowledged ${prefix}${i}`).toBe(VALUE);
        if (got !== undefined) written++;
      }
      if (phase === 'sealed') expect(written).toBe(0);
      if (phase === 'logged') expect(written).toBeGreaterThan(0);
      if (written > 0 && written < PUTS) seen[phase]++;
      if (process.env.KV_DEBUG) console.log(phase, written);
      expect([main.getString(`${prefix}a`), main.getString(`${prefix}b`)]).toSatisfy(([a, b]: (string | undefined)[]) => (a === 'A' && b === 'B') || (a === undefined && b === undefined));
      // The next rounds need the room: what was written goes (its blocks come back through reclamation).
      const keys = main.scan({ prefix });
      if (keys.length > 0) main.batch(keys.map((e) => ({ type: 'delete' as const, key: e.key })));
    }
    // More was sealed than the arena holds: without the sweep the arena fills (ArenaFullError) by round ~18.
    expect(sealedBytes).toBeGreaterThan(2 * (256 << 10));
    if (process.env.KV_DEBUG) console.log({ seen, stranded: stranded(main), stats: main.stats() });
    expect(main.stats().failure).toBeNull();
    main.detach();
  }, 120_000);

  it('a forged table entry naming a live key\'s block (and entries out of range, duplicated, of a bad size) frees none of them: the key reads its value, the free lists stay whole', async () => {
    const { h, nodeSlot, main } = await setup(1 << 20);
    main.put('live', VALUE);
    const meta = (main as unknown as { r: { reads: { meta(k: string): Meta | undefined } } }).r.reads.meta('live')!;
    const { w, worker } = await spawnClient(h, nodeSlot);
    const before = stranded(main);
    const ops: unknown[][] = [];
    for (let i = 0; i < 10; i++) ops.push(['putAsync', `f${i}`, VALUE]);
    expect((await w.call('sealThenFreeze', ops, 20_000)).ok).toBe(true);
    // The host rewrites the frozen client's region: its real entries, then forged ones after them.
    const table = new Int32Array(h.clientBlocks!);
    const count = table[1]!;
    const cap = table[2]!;
    const k = Array.from({ length: count }, (_, j) => j).find((j) => table[16 + j]! >>> 2 === worker.threadId)!;
    const entry = (i: number): number => regionAt(count, cap, k) + 16 + 4 * i;
    let used = 0;
    while (table[entry(used)] !== 0) used++;
    expect(used).toBe(10);
    const forge = (loc: number, bytes: number): void => {
      table[entry(used) + 1] = bytes;
      table[entry(used)] = loc;
      used++;
    };
    forge(meta.loc, BLOCK); // the live key's block
    forge(table[entry(0)]!, table[entry(0) + 1]!); // a real entry again: freed once only
    forge(h.arena.byteLength + 4096, BLOCK); // beyond the arena
    forge(meta.loc + 8, BLOCK); // misaligned
    forge(table[entry(1)]!, 0); // a bad size (skipped; its real entry came first)
    await kill(h, worker);
    expect(main.getString('live')).toBe(VALUE);
    // The client's 10 blocks are free again, each once (the duplicated one too).
    expect(stranded(main) - before).toBe(0);
    // Free lists whole: new writes take the freed blocks, and every value (the live one too) reads back.
    for (let i = 0; i < 20; i++) main.put(`after${i}`, `${i}`.padEnd(104, '.'));
    for (let i = 0; i < 20; i++) expect(main.getString(`after${i}`)).toBe(`${i}`.padEnd(104, '.'));
    expect(main.getString('live')).toBe(VALUE);
    main.detach();
  }, 60_000);
});
