/**
 * KV clients (threads without a replica): the client oracle is closed. A
 * thread without the key that connects as a raw NR client gets no
 * plaintext from any read; a KV client (connectKv) reads and writes with
 * its own key, verifying the node's authenticated answers; no plaintext
 * ever reaches the shared client slots.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachKv, createKv, kvPeers, type KvHandle, type KvStore } from '../src/kv/index.js';
import { CLIENT_TAIL, SharedContext } from '../src/nr/clients/context.js';
import { type KvWorkerCalls, spawnKvWorker } from './support/kv-calls.js';

const KEY = new Uint8Array(32).fill(3);
const SECRET = 'TOP-SECRET-PLAINTEXT-0123456789';
const workers: Worker[] = [];
const stores: KvStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) s.detach();
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function spawn(data: object, transferList: readonly MessagePort[] = []): KvWorkerCalls {
  return spawnKvWorker(workers, data, transferList);
}

function node(): { h: KvHandle; main: KvStore } {
  // 256-byte slots (not the KV default): scans of 20 entries take several pages.
  const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 2, clientSlotBytes: 256 } });
  const main = attachKv(h, { key: KEY });
  stores.push(main);
  main.put('secret', SECRET);
  return { h, main };
}

const noPlaintextIn = (sab: SharedArrayBuffer | null): void => expect(Buffer.from(sab!).indexOf(SECRET)).toBe(-1);

describe('KV clients', () => {
  it('a thread without the key, connected as a raw NR client, gets nothing readable from any read', async () => {
    const { h } = node();
    const w = spawn({ mode: 'raw-client', handle: h, key: null });
    const { raw } = await w.first;
    for (const name of ['get', 'entry', 'scan', 'has', 'version', 'size', 'meta']) {
      expect(raw![name]!.ok, name).toBe(false);
      expect(raw![name]!.error!.message).toMatch(/not served to NR clients/);
    }
    // The client reads take sealed requests: without the key it cannot make one the node opens.
    for (const name of ['sealed', 'sealedScan', 'sealedGets']) {
      expect(raw![name]!.ok, name).toBe(false);
      expect(raw![name]!.error!).toMatchObject({ name: 'IntegrityError', message: expect.stringMatching(/request failed authentication/) });
    }
    noPlaintextIn(h.nr.context);
  });

  it('a KV client reads and writes with its own key; no plaintext reaches the client slots', async () => {
    const { h, main } = node();
    const w = spawn({ mode: 'client', handle: h, key: KEY });
    expect((await w.first).attachError).toBeUndefined();
    const got = await w.call('getString', 'secret');
    expect(got).toMatchObject({ ok: true, value: SECRET });
    const put = await w.call('put', 'from-client', 'CLIENT-WRITTEN-PLAINTEXT');
    expect(put.ok).toBe(true);
    expect(main.getString('from-client')).toBe('CLIENT-WRITTEN-PLAINTEXT');
    expect(main.version('from-client')).toBe(put.value);
    expect((await w.call('get', 'missing')).value).toBeUndefined();
    noPlaintextIn(h.nr.context);
    expect(Buffer.from(h.nr.context!).indexOf('CLIENT-WRITTEN-PLAINTEXT')).toBe(-1);
    expect(Buffer.from(h.nr.memory.buffer).indexOf('from-client')).toBe(-1);
  });

  it('a KV client scans (paged to its slot), batches and compares-and-sets, verified in its thread; keys and values never in clear in the slots', async () => {
    const { h, main } = node();
    for (let i = 0; i < 20; i++) main.put(`p:${String(i).padStart(2, '0')}`, `${SECRET}-${i}`);
    main.put('q:other', 'x');
    const w = spawn({ mode: 'client', handle: h, key: KEY });
    expect((await w.first).attachError).toBeUndefined();
    const text = (v: unknown): string => Buffer.from(v as Uint8Array).toString();
    const asPairs = (es: { key: Uint8Array; value: Uint8Array; version: number }[]) => es.map((e) => [text(e.key), text(e.value), e.version]);

    // 20 entries do not fit one 256-byte slot: several pages, the same entries as a replica's scan.
    const all = await w.call('scan', { prefix: 'p:' });
    expect(all.ok).toBe(true);
    expect(asPairs(all.value as never)).toEqual(asPairs(main.scan({ prefix: 'p:' })));
    expect((all.value as unknown[]).length).toBe(20);
    const some = await w.call('scan', { start: 'p:05', end: 'p:12', limit: 4 });
    expect(asPairs(some.value as never)).toEqual(asPairs(main.scan({ start: 'p:05', end: 'p:12', limit: 4 })));
    expect((await w.call('scan', { prefix: 'none:' })).value).toEqual([]);
    expect((await w.call('scan', { limit: -1 })).error).toMatchObject({ name: 'KvTypeError' });

    // A batch: one record, atomic, its versions as a replica holder's.
    const b = await w.call('batch', [
      { type: 'put', key: 'b:1', value: 'one' },
      { type: 'put', key: 'b:2', value: 'two' },
      { type: 'delete', key: 'p:00' },
    ]);
    expect(b.ok).toBe(true);
    const versions = b.value as number[];
    expect(versions).toEqual([main.version('b:1'), main.version('b:2'), 0]);
    expect(main.getString('b:2')).toBe('two');
    expect(main.has('p:00')).toBe(false);
    // Bad input: typed, nothing written.
    const before = main.size();
    expect((await w.call('batch', [{ type: 'put', key: 'b:3', value: 'x' }, { type: 'nope', key: 'b:4' }])).error).toMatchObject({ name: 'KvTypeError' });
    expect((await w.call('batch', 'not-an-array')).error).toMatchObject({ name: 'KvTypeError' });
    // A record larger than the client slot: the core's OpTooLargeError, nothing logged (its blocks are freed).
    const big = Array.from({ length: 12 }, (_, i) => ({ type: 'put', key: `b:5-${i}`, value: 'x' }));
    expect((await w.call('batch', big)).error).toMatchObject({ name: 'OpTooLargeError' });
    expect(main.size()).toBe(before);
    expect(main.has('b:5-0')).toBe(false);

    // Compare-and-set by version, by value and by absence.
    const v1 = main.version('b:1');
    const stale = await w.call('compareAndSet', 'b:1', v1 + 1, 'no');
    expect(stale.error).toBeUndefined();
    expect(stale.value).toEqual({ ok: false, version: v1 });
    const byVersion = await w.call('compareAndSet', 'b:1', v1, 'uno');
    expect(byVersion.value).toMatchObject({ ok: true });
    expect(main.getString('b:1')).toBe('uno');
    expect(main.version('b:1')).toBe((byVersion.value as { version: number }).version);
    const wrongValue = await w.call('compareAndSet', 'b:1', 'one', 'eins');
    expect(wrongValue.value).toMatchObject({ ok: false, version: main.version('b:1') });
    expect(text((wrongValue.value as { value: Uint8Array }).value)).toBe('uno');
    expect((await w.call('compareAndSet', 'b:1', 'uno', 'eins')).value).toMatchObject({ ok: true });
    expect(main.getString('b:1')).toBe('eins');
    expect((await w.call('compareAndSet', 'b:new', undefined, 'fresh')).value).toMatchObject({ ok: true });
    expect((await w.call('compareAndSet', 'b:new', undefined, 'again')).value).toMatchObject({ ok: false, version: main.version('b:new') });
    expect(main.getString('b:new')).toBe('fresh');
    expect((await w.call('compareAndSet', 'b:1', -1, 'x')).error).toMatchObject({ name: 'KvTypeError' });

    // Nothing readable crossed the slots: no value, no key (requests and scan pages are sealed).
    const ctx = Buffer.from(h.nr.context!);
    for (const s of [SECRET, 'p:1', 'b:1', 'b:new', 'eins', 'fresh', 'q:other']) expect(ctx.indexOf(s), s).toBe(-1);
  });

  it('a window of async gets, puts and deletes is one request (one record if it writes), applied in program order; nothing in clear', async () => {
    // The KV's default client slots (4 KiB): a window of these ops fits one.
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 1 } });
    const main = attachKv(h, { key: KEY });
    stores.push(main);
    main.put('window:key', 'WINDOW-OLD');
    main.put('window:other', 'WINDOW-OTHER');
    const w = spawn({ mode: 'client', handle: h, key: KEY });
    expect((await w.first).attachError).toBeUndefined();
    const ctx = new SharedContext(h.nr.context!);
    const tail = (): number => Atomics.load(ctx.words, ctx.clientAt(0, 0) + CLIENT_TAIL);
    const hex = (text: string) => ({ buffer: Buffer.from(text).toString('hex') });
    const t0 = tail();
    const c0 = main.stats().chainCount;
    const mixed = await w.call('asyncOps', [
      ['getAsync', 'window:key'],
      ['putAsync', 'window:key', 'WINDOW-V1'],
      ['getAsync', 'window:key'],
      ['putAsync', 'window:key', 'WINDOW-V2'],
      ['getAsync', 'window:key'],
      ['deleteAsync', 'window:key'],
      ['getAsync', 'window:key'],
      ['getAsync', 'window:other'],
      ['putAsync', 'window:new', 'WINDOW-NEW'],
    ]);
    expect(mixed.ok).toBe(true);
    const r = mixed.value as { ok: boolean; value?: unknown }[];
    expect(r.map((x) => x.ok)).toEqual(Array(9).fill(true));
    expect([r[0]!.value, r[2]!.value, r[4]!.value, r[6]!.value, r[7]!.value]).toEqual([hex('WINDOW-OLD'), hex('WINDOW-V1'), hex('WINDOW-V2'), undefined, hex('WINDOW-OTHER')]);
    const [v1, v2, vNew] = [r[1]!.value as number, r[3]!.value as number, r[8]!.value as number];
    expect(v1 < v2 && v2 < vNew).toBe(true);
    expect(tail() - t0).toBe(1); // one request
    main.sync();
    expect(main.stats().chainCount - c0).toBe(1); // one record
    expect(main.has('window:key')).toBe(false);
    expect(main.getString('window:new')).toBe('WINDOW-NEW');
    expect(main.version('window:new')).toBe(vNew);

    // Gets only: one read request, nothing logged.
    const t1 = tail();
    const reads = await w.call('asyncOps', [['getAsync', 'window:new'], ['getAsync', 'window:key'], ['getAsync', 'window:other']]);
    expect((reads.value as { value?: unknown }[]).map((x) => x.value)).toEqual([hex('WINDOW-NEW'), undefined, hex('WINDOW-OTHER')]);
    expect(tail() - t1).toBe(1);
    main.sync();
    expect(main.stats().chainCount - c0).toBe(1);
    // Bad input in a window: that op's typed error; the others are served.
    const bad = await w.call('asyncOps', [['getAsync', 'window:other'], ['putAsync', 'window:bad', 42], ['getAsync', 'window:\uD800']]);
    expect((bad.value as { ok: boolean; error?: { name: string } }[]).map((x) => x.ok || x.error!.name)).toEqual([true, 'KvTypeError', 'KvTypeError']);

    for (const s of ['WINDOW-', 'window:']) {
      expect(Buffer.from(h.nr.context!).indexOf(s), s).toBe(-1);
      expect(Buffer.from(h.nr.memory.buffer).indexOf(s), s).toBe(-1);
    }
  });

  it('a KV client without the key cannot connect; with a wrong key neither', async () => {
    const { h } = node();
    const none = spawn({ mode: 'client', handle: h, key: null });
    expect((await none.first).attachError).toMatchObject({ name: 'KvTypeError' });
    const wrong = spawn({ mode: 'client', handle: h, key: new Uint8Array(32).fill(4) });
    expect((await wrong.first).attachError).toMatchObject({ name: 'WrongKeyError' });
  });

  it('a KV client with a peer does not accept a node answer behind a head it learned (KvStaleError within the bound)', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 2, replicas: 2 } });
    const peers = kvPeers(3);
    const a = attachKv(h, { key: KEY, peer: peers[0], announceMs: 0 });
    const b = attachKv(h, { key: KEY, peer: peers[1], announceMs: 0 });
    stores.push(a, b);
    a.put('bal', 'old');
    b.sync();
    // The client is served by b; a's later put is hidden from b by rolling the log's TAIL and CTAIL back.
    const w = spawn({ mode: 'client', handle: h, key: KEY, peer: peers[2], staleMs: 200 }, peers[2]!.transferList);
    expect((await w.first).attachError).toBeUndefined();
    expect((await w.call('getString', 'bal')).value).toBe('old');
    const words = new Int32Array(h.nr.memory.buffer);
    const tail = Atomics.load(words, 32);
    const ctail = Atomics.load(words, 48);
    a.put('bal', 'new');
    Atomics.store(words, 32, tail);
    Atomics.store(words, 48, ctail);
    const r = await w.call('getString', 'bal');
    // Served by a node that had applied it; or refused as stale; or the core's own checks saw the rolled-back
    // counters and halted the serving node (the client is told it is gone). Never the old value.
    if (r.ok) expect(r.value).toBe('new');
    else expect(['KvStaleError', 'NodeGoneError']).toContain(r.error!.name);
  });

  it('a node that syncs still holds displaced blocks for the client read grace: a client opening a value its answer named never meets the block reused', async () => {
    // A bench node syncs every 2 ms; sync() used to hand every held block back at once, so a client's
    // get-then-put of one key in a turn (the get's answer names the block the put displaces) found
    // the block's first bytes relinked by the free list in ~1 of 64 YCSB-A ops, and asked again.
    const { main } = node();
    main.put('k', 'a'.repeat(40));
    const first = main.locate('k')!;
    main.put('k', 'b'.repeat(40)); // displaces the first block
    main.sync();
    main.put('other', 'c'.repeat(40)); // same size class: the free list's top would be the displaced block
    expect(main.locate('other')!.loc).not.toBe(first.loc);
    expect(main.get('k')!.toString()).toBe('b'.repeat(40));
    // After the grace (50 ms) the block goes back to the allocator, not leaked: the next write's
    // record claims it (its own value was sealed before, into another block), the one after reuses it.
    await new Promise((r) => setTimeout(r, 80));
    main.sync();
    main.put('later', 'd'.repeat(40));
    expect(main.locate('later')!.loc).not.toBe(first.loc);
    main.put('later2', 'e'.repeat(40));
    expect(main.locate('later2')!.loc).toBe(first.loc);
    expect(main.get('other')!.toString()).toBe('c'.repeat(40));
  });
});
