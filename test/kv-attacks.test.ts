/**
 * The whole shared-memory attacker (issue 12): every attack below edits
 * shared memory only (log ring, counters, arena, header, client slots) and
 * must end in a typed error or a fail-stop (FailStopError on every replica
 * that reaches the tampered record), never in wrong or stale data served
 * as valid. Replicas in this thread are driven op by op, so a replica that
 * has not read yet has not applied the records the test tampers with.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  attachKv,
  createKv,
  FailStopError,
  IntegrityError,
  kvPeers,
  KvConfigError,
  KvStaleError,
  KvTypeError,
  WrongKeyError,
  type KvAttachOptions,
  type KvHandle,
  type KvStore,
} from '../src/kv/index.js';
import { H_FLAGS } from '../src/kv/arena.js';
import { CTAIL, HEAD, headerOf, logWords, padEntry, records, ring, logOf, setSlotState, TAIL } from './support/kv-log.js';
import { workerPath } from './support/spawn.js';
import { TRANSFER } from '../src/nr/log/layout.js';
import { handOver } from '../src/nr/log/transfer.js';
import { spawnKvWorker } from './support/kv-calls.js';
import { cleanedAfterEach, thrownBy } from './support/kv-fixtures.js';

const KEY = new Uint8Array(32).fill(7);
const { stores, workers } = cleanedAfterEach();

function open(h: KvHandle, options: KvAttachOptions = {}): KvStore {
  const s = attachKv(h, { key: KEY, ...options });
  stores.push(s);
  return s;
}

/** A store with `n` replicas in this thread, each with its end of a freshness mesh (announcing and polling on every op). */
function cluster(n: number, staleMs = 150, log: { logBytes?: number } = {}): { h: KvHandle; r: KvStore[] } {
  const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: log.logBytes ?? 1 << 16, replicas: n } });
  const peers = kvPeers(n);
  return { h, r: peers.map((peer) => open(h, { peer, staleMs, announceMs: 0 })) };
}

const failStopOf = (f: () => unknown): FailStopError => thrownBy(FailStopError, f);

function errorOf(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (e) {
    return e;
  }
}

const words = logWords;

describe('store identity', () => {
  it('a record replayed from another store with the same key fails stop: a put ("admin") and a delete', () => {
    const a = cluster(2);
    const b = cluster(1);
    a.r[0]!.put('role', 'user');
    a.r[0]!.delete('sess');
    b.r[0]!.put('role', 'admin');
    b.r[0]!.delete('sess');
    const ra = records(a.h);
    const rb = records(b.h);
    expect(ra.map((r) => r.len)).toEqual(rb.map((r) => r.len)); // same shapes: a byte-for-byte substitution
    // Replace a's first record (put role=user) with b's (put role=admin) before a's second replica applies it.
    ring(a.h).set(ring(b.h).subarray(rb[0]!.at, rb[0]!.at + rb[0]!.len), ra[0]!.at);
    const e = failStopOf(() => a.r[1]!.get('role'));
    expect(e.message).toMatch(/failed authentication/);
    expect(() => a.r[1]!.get('sess')).toThrow(FailStopError);
    // The same for a replayed delete, on a fresh pair.
    const c = cluster(2);
    c.r[0]!.put('role', 'user');
    c.r[0]!.delete('nothing');
    const rc = records(c.h);
    ring(c.h).set(ring(b.h).subarray(rb[1]!.at, rb[1]!.at + rb[1]!.len), rc[1]!.at);
    expect(failStopOf(() => c.r[1]!.get('sess')).message).toMatch(/failed authentication/);
  });

  it('a ciphertext copied from another store with the same key fails that key with IntegrityError', () => {
    const a = cluster(1);
    const b = cluster(1);
    a.r[0]!.put('role', 'user!');
    b.r[0]!.put('role', 'admin');
    const la = a.r[0]!.locate('role')!;
    const lb = b.r[0]!.locate('role')!;
    new Uint8Array(a.h.arena).set(new Uint8Array(b.h.arena, lb.loc, lb.storedBytes), la.loc);
    const e = errorOf(() => a.r[0]!.get('role'));
    expect(e).toBeInstanceOf(IntegrityError);
    expect((e as IntegrityError).key).toBe('role');
    // Even the enclave tag of the other store's value does not open it here: the value key is per store.
    expect(Buffer.from(a.h.storeId).equals(Buffer.from(b.h.storeId))).toBe(false);
  });

  it('log records are encrypted: no key, value or tag is in clear in the log', () => {
    const a = cluster(1);
    a.r[0]!.put('PLAIN-KEY-MARKER', 'PLAIN-VALUE-MARKER');
    const log = Buffer.from(a.h.nr.memory.buffer);
    expect(log.indexOf('PLAIN-KEY-MARKER')).toBe(-1);
    expect(log.indexOf('PLAIN-VALUE-MARKER')).toBe(-1);
    expect(log.indexOf(Buffer.from(a.r[0]!.locate('PLAIN-KEY-MARKER')!.tag, 'latin1'))).toBe(-1);
    expect(Buffer.from(a.h.arena).indexOf('PLAIN-VALUE-MARKER')).toBe(-1);
    // Record bodies are padded to 32 bytes: key lengths 1 and 10 give the same record size.
    a.r[0]!.put('k', 'v');
    a.r[0]!.put('k'.repeat(10), 'v');
    const lens = records(a.h).map((r) => r.len);
    expect(lens[1]).toBe(lens[2]);
  });

  it('a snapshot and a log record never verify as each other (separate key domains)', () => {
    const a = cluster(2);
    a.r[0]!.put('x', '1');
    a.r[0]!.put('y', '2');
    const rec = records(a.h)[1]!;
    // Seal a body of exactly the record's size under the snapshot key, with the record's AD: only the key domain differs.
    const cipher = (a.r[0] as unknown as { cipher: { box(d: string, p: Uint8Array, ad: Uint8Array): Buffer } }).cipher;
    const fake = cipher.box('snapshot', Buffer.alloc(rec.len - 40), Buffer.from('nr-kv record v2'));
    expect(fake.length).toBe(rec.len);
    ring(a.h).set(fake, rec.at);
    expect(failStopOf(() => a.r[1]!.get('y')).message).toMatch(/failed authentication/);
    // And a log record's bytes offered as a snapshot fail to restore.
    const b = cluster(1);
    b.r[0]!.put('z', '3');
    const rb = records(b.h)[0]!;
    const structure = (b.r[0]!.replica as unknown as { structure: { restore(x: Uint8Array): { failure: string | null } } }).structure;
    expect(structure.restore(ring(b.h).slice(rb.at, rb.at + rb.len)).failure).toMatch(/snapshot failed verification: it failed authentication/);
  });

  it('detach zeroes every sub-key', () => {
    const a = cluster(1);
    a.r[0]!.put('x', '1');
    const c = (a.r[0] as unknown as { cipher: Record<string, Buffer> }).cipher;
    const keys = ['valueKey', 'recordKey', 'snapshotKey', 'chainKey', 'responseKey'].map((k) => c[k]!);
    for (const k of keys) expect(k.some((b) => b !== 0)).toBe(true);
    a.r[0]!.detach();
    for (const k of keys) expect(k.every((b) => b === 0)).toBe(true);
  });
});

describe('the authenticated chain', () => {
  it('a whole record turned into a PAD (a put vanishes) fails stop on every replica (core header check or chain)', () => {
    const { h, r } = cluster(3);
    r[0]!.put('x', 'kept');
    r[0]!.put('y', 'vanishing');
    r[0]!.put('z', 'next');
    padEntry(h, records(h)[1]!.pos);
    for (const victim of [r[1]!, r[2]!]) {
      failStopOf(() => victim.get('x'));
      expect(() => victim.get('z')).toThrow(FailStopError);
    }
    expect(r[0]!.getString('y')).toBe('vanishing'); // the issuer applied its own writes
  });

  it('a deleted key does not come back when its delete is dropped through the framing (op count 0)', () => {
    const { h, r } = cluster(2);
    r[0]!.put('session', 'abc');
    r[0]!.delete('session');
    r[0]!.put('other', '1');
    headerOf(h, records(h)[1]!)[2] = 0; // op count 0: a valid header the core cannot tell from an empty batch
    expect(failStopOf(() => r[1]!.get('session')).message).toMatch(/only 1 precede it here: a record was dropped, reordered or hidden/);
  });

  it('an enlarged cell count that swallows a record fails stop (core or chain), never serves the state without it', () => {
    const { h, r } = cluster(2);
    r[0]!.put('a', '1');
    r[0]!.put('b', '2');
    r[0]!.put('c', '3');
    const [r1, r2] = records(h);
    const hdr = headerOf(h, r1!);
    hdr[0] = hdr[0]! + headerOf(h, r2!)[0]!; // record 1's entry now covers record 2
    expect(errorOf(() => r[1]!.get('b'))).toBeInstanceOf(FailStopError);
  });

  it("two writers' records swapped (a revoked permission comes back) fail stop", () => {
    const { h, r } = cluster(3);
    r[0]!.put('perm', 'granted');
    r[1]!.sync(); // writer 1 has seen the grant
    r[1]!.put('perm', 'revoked');
    const [g, v] = records(h);
    expect(g!.len).toBe(v!.len);
    const data = ring(h);
    const gb = data.slice(g!.at, g!.at + g!.len);
    data.copyWithin(g!.at, v!.at, v!.at + v!.len);
    data.set(gb, v!.at);
    expect(failStopOf(() => r[2]!.get('perm')).message).toMatch(/dropped, reordered or hidden/);
  });

  it('a record of one writer replayed later in the log fails stop (sequence)', () => {
    const { h, r } = cluster(2);
    r[0]!.put('k', 'first');
    r[0]!.put('k', 'secnd');
    const [a, b] = records(h);
    ring(h).copyWithin(b!.at, a!.at, a!.at + a!.len);
    expect(failStopOf(() => r[1]!.get('k')).message).toMatch(/replayed or reordered|does not extend/);
  });
});

describe('freshness', () => {
  it('CTAIL rolled back: a read still returns the completed put, never the old value', () => {
    const { h, r } = cluster(2);
    r[0]!.put('bal', 'old');
    expect(r[1]!.getString('bal')).toBe('old');
    const ctail = Atomics.load(words(h), CTAIL);
    r[0]!.put('bal', 'new');
    Atomics.store(words(h), CTAIL, ctail);
    expect(r[1]!.getString('bal')).toBe('new');
  });

  it('records hidden (TAIL and CTAIL rolled back): a read throws KvStaleError within the bound, never the old value', () => {
    const staleMs = 150;
    const { h, r } = cluster(2, staleMs);
    r[0]!.put('bal', 'old');
    expect(r[1]!.getString('bal')).toBe('old');
    const tail = Atomics.load(words(h), TAIL);
    const ctail = Atomics.load(words(h), CTAIL);
    r[0]!.put('bal', 'new');
    Atomics.store(words(h), TAIL, tail);
    Atomics.store(words(h), CTAIL, ctail);
    const t0 = performance.now();
    const e = errorOf(() => r[1]!.getString('bal'));
    const ms = performance.now() - t0;
    expect(e).toBeInstanceOf(KvStaleError);
    expect(e).toMatchObject({ code: 'ERR_KV_STALE', applied: 1, announced: 2 });
    expect(ms).toBeGreaterThanOrEqual(staleMs - 1);
    expect(ms).toBeLessThan(staleMs + 2000);
    expect(errorOf(() => r[1]!.scan())).toBeInstanceOf(KvStaleError);
    // Put the counters back: the replica catches up and serves the new value.
    Atomics.store(words(h), TAIL, Math.max(tail, logOf(h).tail()));
  });

  it('HEAD moved forward so a writer laps a lagging replica: it never serves its old state', () => {
    const { h, r } = cluster(2, 150, { logBytes: 4096 });
    r[0]!.put('k', 'v0');
    expect(r[1]!.getString('k')).toBe('v0');
    for (let i = 1; i <= 60; i++) {
      Atomics.store(words(h), HEAD, Atomics.load(words(h), TAIL)); // release the lagging replica's cells
      r[0]!.put('k', `v${i}`);
    }
    const got = errorOf(() => r[1]!.getString('k'));
    if (got instanceof Error) expect(got.name).toMatch(/FailStopError|KvStaleError|RecoveryError|FencedError/);
    else expect(got).toEqual({ value: 'v60' });
    const put = errorOf(() => r[1]!.put('k', 'late'));
    if (put instanceof Error) expect(put.constructor.name, String(put.stack)).not.toBe('TypeError');
  });

  it('a forged PAD with cells = 2^20 never leaves a replica serving stale data', () => {
    const { h, r } = cluster(2);
    r[0]!.put('k', 'v0');
    expect(r[1]!.getString('k')).toBe('v0');
    r[0]!.put('k', 'v1');
    const hdr = headerOf(h, records(h)[1]!);
    hdr[0] = 1 << 20;
    hdr[1] = (hdr[1]! & ~0xff) | 2;
    const got = errorOf(() => r[1]!.getString('k'));
    if (got instanceof Error) expect(got.name).toMatch(/FailStopError|KvStaleError|RecoveryError/);
    else expect(got).toEqual({ value: 'v1' });
  });

  it('an old authentic snapshot restored under a forged position: the live replica fails stop, a new joiner throws KvStaleError', () => {
    const { h, r } = cluster(3);
    r[0]!.put('balance', '100');
    r[0]!.put('session', 'tok');
    type Internals = { state: unknown; ltail: number; structure: { snapshot(s: unknown): Uint8Array; restore(b: Uint8Array): unknown } };
    const provider = r[0]!.replica as unknown as Internals;
    const old = provider.structure.snapshot(provider.state);
    r[0]!.put('balance', '5');
    r[0]!.delete('session');
    // The live, up-to-date replica: it had applied 4 records; the snapshot is at 2.
    expect(r[1]!.getString('balance')).toBe('5');
    const live = r[1]!.replica as unknown as Internals;
    live.state = live.structure.restore(old);
    live.ltail = Atomics.load(words(h), TAIL); // the forged transfer position
    expect(failStopOf(() => r[1]!.get('balance')).message).toMatch(/a rollback/);
    // A replica that has applied nothing yet (a joiner) accepts the snapshot but not as current.
    const joiner = r[2]!.replica as unknown as Internals;
    joiner.state = joiner.structure.restore(old);
    joiner.ltail = Atomics.load(words(h), TAIL);
    expect(errorOf(() => r[2]!.get('balance'))).toBeInstanceOf(KvStaleError);
    expect(errorOf(() => r[2]!.get('session'))).toBeInstanceOf(KvStaleError);
  });
});

describe('a snapshot replayed through the transfer words by hand', () => {
  it('an old authentic snapshot handed to a fenced replica under a forged position fails stop; under its own old one it is stale and a fresh one is asked for; never the old state', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, replicas: 3 } });
    const r0 = open(h);
    r0.put('balance', '100');
    r0.put('session', 'tok');
    const victims = [0, 1].map(() => spawnKvWorker(workers, { mode: 'serve', handle: h, key: KEY }));
    const slots = await Promise.all(victims.map(async (v) => (await v.first).slot as number));
    const log = logOf(h);
    const tw = log.wordsForTransfer();
    const [STATUS, POS, BYTES, PROVIDER] = [TRANSFER + 1, TRANSFER + 3, TRANSFER + 4, TRANSFER + 5];

    // A legitimate transfer first (victim 0 fenced, r0 serves it from this thread's event loop): the
    // attacker records the sealed snapshot it leaves in the transfer buffer, and its position.
    const fence = (slot: number): void => {
      setSlotState(h, slot, 4); // Fenced
      r0.put('noise', String(slot)); // a record the victim has not applied ...
      Atomics.store(logWords(h), HEAD, Atomics.load(logWords(h), TAIL)); // ... whose cells count as reused: only a snapshot helps
    };
    fence(slots[0]!);
    expect(await victims[0]!.call('getString', 'balance')).toMatchObject({ ok: true, value: '100' });
    expect(((await victims[0]!.call('stats')).value as { replica: { stateTransfers: number } }).replica.stateTransfers).toBe(1); // a real transfer happened
    const oldBytes = new Uint8Array(h.nr.transfer, 0, Atomics.load(tw, BYTES)).slice();
    const oldPos = Atomics.load(tw, POS);
    expect(oldBytes.length).toBeGreaterThan(0);

    r0.put('balance', '5');
    r0.delete('session');
    for (const v of victims) expect(await v.call('getString', 'balance')).toMatchObject({ ok: true, value: '5' });

    /**
     * Fence victim `i`, let it ask for a snapshot, and answer the request as a provider would, with the
     * old snapshot and position `posOf()` (this thread does not yield meanwhile, so r0 never serves it).
     */
    const replay = async (i: number, posOf: () => number) => {
      // The other victim must not serve the request first (a fenced replica serves no snapshot); r0 cannot,
      // as this thread does not yield until the forged answer is in place.
      setSlotState(h, slots[1 - i]!, 4);
      fence(slots[i]!);
      const reply = victims[i]!.call('getString', 'balance');
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      const deadline = Date.now() + 10_000;
      while (Atomics.compareExchange(tw, STATUS, 1, 2) !== 1) {
        if (Date.now() > deadline) throw new Error('the fenced victim never asked for a snapshot');
        Atomics.wait(sleeper, 0, 0, 1);
      }
      Atomics.store(tw, PROVIDER, r0.replica.id);
      if (h.nr.transfer.byteLength < oldBytes.length) h.nr.transfer.grow(oldBytes.length);
      new Uint8Array(h.nr.transfer).set(oldBytes);
      const pos = posOf();
      expect(handOver(log, r0.replica.id, slots[i]!, pos)).not.toBe(-1);
      Atomics.store(tw, POS, pos);
      Atomics.store(tw, BYTES, oldBytes.length);
      Atomics.store(tw, STATUS, 3); // Ready
      Atomics.notify(tw, STATUS);
      return reply;
    };

    // A forged position (the current tail, which the transfer words' own range check accepts).
    const forged = await replay(0, () => log.tail());
    expect(forged).toMatchObject({ ok: false, error: { name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' } });
    expect(forged.error!.message).toMatch(/snapshot failed verification: it was taken at log position \d+ but handed over as position \d+/);
    // Its own, honest old position: behind HEAD (the victim needs a snapshot only because HEAD passed it).
    // The core takes such a hand-over for a stale one (what a requester fenced while slow to copy it sees),
    // restores nothing from it and asks again; r0 then serves an authentic, current snapshot. So: the
    // current state, through exactly one more restore, never the old one.
    const transfersOf = async (i: number) => ((await victims[i]!.call('stats')).value as { replica: { stateTransfers: number } }).replica.stateTransfers;
    const before = await transfersOf(1);
    const rolledBack = await replay(1, () => oldPos);
    expect(rolledBack).toMatchObject({ ok: true, value: '5' });
    expect(await transfersOf(1)).toBe(before + 1);
    expect(await victims[1]!.call('getString', 'session')).toMatchObject({ ok: true, value: undefined });
    // Later ops: still stopped, or (a victim fenced again above recovers from a live replica's authentic
    // snapshot) the current state; never the old one.
    for (const v of victims) {
      for (const [key, now] of [['session', undefined], ['balance', '5']] as const) {
        const again = await v.call('getString', key);
        if (again.ok) expect(again.value).toBe(now);
        else expect(again.error!.name).toBe('FailStopError');
      }
    }
    expect(r0.getString('balance')).toBe('5');
    expect(r0.has('session')).toBe(false);
  });
});

describe('nothing security-relevant from shared memory', () => {
  it('the header\'s "encrypted" flag cleared before a worker attaches: still encrypted, wrong keys still refused', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20 });
    new DataView(h.header).setUint32(H_FLAGS, 0, true);
    expect(() => attachKv(h, { key: new Uint8Array(32).fill(1) })).toThrow(WrongKeyError);
    const w = new Worker(workerPath('kv-store-worker'), { workerData: { mode: 'serve', handle: h, key: KEY } });
    workers.push(w);
    const reply = await new Promise<{ ready?: boolean; attachError?: unknown }>((res) => w.once('message', res));
    expect(reply.attachError).toBeUndefined();
    const answer = await new Promise<{ ok: boolean; value: unknown }>((res) => {
      w.on('message', (m: { id?: number; ok: boolean; value: unknown }) => m.id === 1 && res(m));
      w.postMessage({ id: 1, op: 'put', args: ['secret', 'VALUE-IN-CLEAR?'] });
    });
    expect(answer.ok).toBe(true);
    expect(Buffer.from(h.arena).indexOf('VALUE-IN-CLEAR?')).toBe(-1);
    const s = open(h);
    expect(s.encrypted).toBe(true);
    expect(s.getString('secret')).toBe('VALUE-IN-CLEAR?');
  });

  it('a KDF cost beyond the caller\'s ceiling is refused at once; below the floor at creation', () => {
    const h = createKv({ passphrase: 'pw', pwhash: { opsLimit: 1, memLimit: 8192 }, arenaBytes: 1 << 20 });
    const forged = { ...h, pwhash: { opsLimit: 2 ** 32 - 1, memLimit: 2 ** 32 - 1 } };
    const t0 = performance.now();
    expect(() => attachKv(forged, { passphrase: 'pw' })).toThrow(KvConfigError);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(() => attachKv(h, { passphrase: 'pw', maxPwhash: { opsLimit: 1, memLimit: 8191 } })).toThrow(KvConfigError);
    // A cost within bounds but not the one the store was made with: the key check covers it.
    expect(() => attachKv({ ...h, pwhash: { opsLimit: 2, memLimit: 8192 } }, { passphrase: 'pw' })).toThrow(WrongKeyError);
    stores.push(attachKv(h, { passphrase: 'pw' }));
    expect(() => createKv({ passphrase: 'pw', pwhash: { opsLimit: 0, memLimit: 8192 } })).toThrow(KvConfigError);
    expect(() => attachKv(h, { passphrase: 'pw', bogus: 1 } as never)).toThrow(KvConfigError);
  });

  it('rolling the shared version counter back never repeats a version: CAS by an old version fails', () => {
    const { h, r } = cluster(2);
    const v1 = r[0]!.put('acct', 'a');
    new BigInt64Array(h.header, 192, 1)[0] = 0n;
    const v2 = r[1]!.put('acct', 'b');
    expect(v2).toBeGreaterThan(v1);
    expect(r[0]!.compareAndSet('acct', v1, 'lost-update')).toEqual({ ok: false, version: v2 });
    expect(r[0]!.getString('acct')).toBe('b');
  });

  it('ill-formed UTF-16 keys are refused, so "user:\\uD800" and "user:\\uFFFD" cannot alias', () => {
    const { r } = cluster(1);
    expect(() => r[0]!.put('user:\uD800', 'x')).toThrow(KvTypeError);
    expect(() => r[0]!.get('user:\uDC00')).toThrow(KvTypeError);
    r[0]!.put('user:\uFFFD', 'replacement');
    expect(r[0]!.getString('user:\uFFFD')).toBe('replacement');
  });
});

describe('further attacks', () => {
  it('a state transfer puts only a sealed snapshot into shared memory: no key or value in clear', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, replicas: 2 } });
    const w = new Worker(workerPath('kv-store-worker'), { workerData: { mode: 'serve', handle: h, key: KEY } });
    workers.push(w);
    expect((await new Promise<{ attachError?: unknown }>((res) => w.once('message', res))).attachError).toBeUndefined();
    const b = open(h);
    const call = (id: number, op: string, ...args: unknown[]) =>
      new Promise<{ ok: boolean }>((res) => {
        w.on('message', (m: { id?: number; ok: boolean }) => m.id === id && res(m));
        w.postMessage({ id, op, args });
      });
    // Fence this thread's replica by hand: it must recover by a snapshot the worker writes into the transfer buffer.
    setSlotState(h, b.replica.id, 4); // Fenced
    expect((await call(1, 'put', 'TRANSFER-KEY-MARKER', 'TRANSFER-VALUE-MARKER')).ok).toBe(true);
    Atomics.store(words(h), HEAD, Atomics.load(words(h), TAIL)); // as if the fenced replica's cells were reused
    const got = new Promise<string | undefined>((res) => setImmediate(() => res(b.getString('TRANSFER-KEY-MARKER'))));
    expect(await got).toBe('TRANSFER-VALUE-MARKER');
    expect(b.stats().replica.stateTransfers).toBe(1);
    const mem = Buffer.from(h.nr.memory.buffer);
    expect(mem.indexOf('TRANSFER-KEY-MARKER')).toBe(-1);
    expect(mem.indexOf('TRANSFER-VALUE-MARKER')).toBe(-1);
  });

  it('a head announcement from another store (or forged) is ignored: it cannot push a replica into KvStaleError', () => {
    const a = cluster(2);
    const other = cluster(1);
    a.r[0]!.put('k', 'v');
    type Fresh = { ports: MessagePort[]; macOf(count: number, head: string): Buffer; learned: number };
    const mine = (a.r[1] as unknown as { fresh: Fresh }).fresh;
    const foreign = (other.r[0] as unknown as { fresh: Fresh }).fresh;
    const { port1, port2 } = new MessageChannel();
    mine.ports.push(port1);
    const head = 'h'.repeat(16);
    port2.postMessage({ count: 50, head, mac: foreign.macOf(50, head).toString('latin1') }); // authentic for the other store
    port2.postMessage({ count: 60, head, mac: 'x'.repeat(16) }); // forged
    port2.postMessage({ count: -1, head: 7, mac: null }); // malformed
    expect(a.r[1]!.getString('k')).toBe('v');
    expect(mine.learned).toBe(1);
    port1.close();
  });
});
