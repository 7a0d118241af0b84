/**
 * KV clients (threads without a replica): the client oracle is closed. A
 * thread without the key that connects as a raw NR client gets no
 * plaintext from any read; a KV client (connectKv) reads and writes with
 * its own key, verifying the node's authenticated answers; no plaintext
 * ever reaches the shared client slots.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachKv, createKv, kvPeers, type KvHandle, type KvStore } from '../src/kv/index.js';
import { workerPath } from './support/spawn.js';

const KEY = new Uint8Array(32).fill(3);
const SECRET = 'TOP-SECRET-PLAINTEXT-0123456789';
const workers: Worker[] = [];
const stores: KvStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) s.detach();
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

interface Reply {
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: { name: string; code?: string; message: string };
  ready?: boolean;
  attachError?: unknown;
  raw?: Record<string, { ok: boolean; hex?: string; error?: { name: string; code?: string; message: string } }>;
}

function spawn(data: object, transferList: readonly MessagePort[] = []): { call(op: string, ...args: unknown[]): Promise<Reply>; first: Promise<Reply> } {
  const w = new Worker(workerPath('kv-store-worker'), { workerData: data, transferList: transferList as MessagePort[] });
  workers.push(w);
  let next = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  const first = new Promise<Reply>((resolve) => {
    w.on('message', (m: Reply) => {
      if (m.id === undefined) resolve(m);
      else waiting.get(m.id)?.(m);
    });
  });
  return {
    first,
    call: (op, ...args) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        w.postMessage({ id, op, args });
      }),
  };
}

function node(): { h: KvHandle; main: KvStore } {
  const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, clients: 2 } });
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
    // What it is served is metadata only, with no plaintext in it.
    expect(raw!.sealed!.ok).toBe(true);
    expect(Buffer.from(raw!.sealed!.hex!, 'hex').indexOf(SECRET)).toBe(-1);
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
});
