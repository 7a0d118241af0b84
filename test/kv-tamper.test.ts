/**
 * The tamper suite: shared memory (value arena, allocator metadata, NR log)
 * is modified behind the store's back while real workers use it. Every
 * change is detected on the next access with a typed IntegrityError, and no
 * access ever returns data other than what was written. Value tampering
 * affects only the keys touched; log tampering fail-stops every replica
 * that applies the tampered record with the core's FailStopError (by design:
 * the log is the order of all writes, so a replica that cannot trust it must
 * stop). test/kv-attacks.test.ts has the whole-record and freshness attacks.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ArenaFullError, attachKv, createKv, FailStopError, IntegrityError, type KvHandle, type KvStore } from '../src/kv/index.js';
import { records, ring } from './support/kv-log.js';
import { classOf, H_BUMP, H_HEADS } from '../src/kv/arena.js';
import { workerPath } from './support/spawn.js';

const KEY = new Uint8Array(32).fill(9);

interface Reply {
  ok: boolean;
  value?: unknown;
  error?: { name: string; code?: string; key?: string; failStop: boolean; message: string };
}

/** A worker holding its own replica, driven op by op. */
class Remote {
  private next = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  readonly ready: Promise<{ slot?: number; attachError?: Reply['error'] }>;
  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve) => {
      worker.on('message', (m: { id?: number; ready?: boolean; attachError?: Reply['error'] } & Reply) => {
        if (m.id === undefined) resolve(m);
        else this.waiting.get(m.id)?.(m);
      });
    });
  }
  call(op: string, ...args: unknown[]): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, op, args });
    });
  }
  async get(key: string): Promise<Reply> {
    const r = await this.call('get', key);
    if (r.ok && r.value !== undefined) r.value = Buffer.from((r.value as { buffer: string }).buffer, 'hex').toString();
    return r;
  }
  async must(op: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.call(op, ...args);
    if (!r.ok) throw new Error(`${op} failed: ${r.error?.name} ${r.error?.message}`);
    return r.value;
  }
}

const workers: Worker[] = [];
const stores: KvStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) if (!s.replica.isDetached) s.detach();
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

async function fixture(remotes = 1): Promise<{ h: KvHandle; main: KvStore; w: Remote[]; arena: Uint8Array }> {
  const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16 } });
  const main = attachKv(h, { key: KEY });
  stores.push(main);
  const w: Remote[] = [];
  for (let i = 0; i < remotes; i++) {
    const worker = new Worker(workerPath('kv-store-worker'), { workerData: { mode: 'serve', handle: h, key: KEY } });
    workers.push(worker);
    const r = new Remote(worker);
    expect((await r.ready).attachError).toBeUndefined();
    w.push(r);
  }
  return { h, main, w, arena: new Uint8Array(h.arena) };
}

function integrityErrorOf(f: () => unknown): IntegrityError {
  try {
    f();
  } catch (e) {
    if (e instanceof IntegrityError) return e;
    throw e;
  }
  throw new Error('expected an IntegrityError, got a value');
}

/** Every key reads as its last written value or fails verification naming it; never anything else. */
function neverWrongData(main: KvStore, written: Map<string, string>): { ok: number; failed: string[] } {
  const failed: string[] = [];
  let ok = 0;
  for (const [k, v] of written) {
    try {
      expect(main.getString(k)).toBe(v);
      ok++;
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      expect(e.key).toBe(k);
      expect(e.failStop).toBe(false);
      failed.push(k);
    }
  }
  return { ok, failed };
}

describe('kv tamper suite: the value arena', () => {
  const cases: [string, (loc: { loc: number; len: number; storedBytes: number }) => number][] = [
    ['a flipped ciphertext byte', (l) => l.loc + 24 + 2],
    ['a flipped tag byte (the arena copy of the tag)', (l) => l.loc + l.storedBytes - 1],
    ['a flipped nonce byte', (l) => l.loc + 3],
  ];
  for (const [name, where] of cases) {
    it(`${name} fails that key's get on every replica; other keys keep working`, async () => {
      const { main, w, arena } = await fixture();
      await w[0]!.must('put', 'a', 'alpha-value');
      await w[0]!.must('put', 'b', 'bravo-value');
      main.sync();
      arena[where(main.locate('a')!)]! ^= 0x10;
      const e = integrityErrorOf(() => main.get('a'));
      expect(e.code).toBe('ERR_KV_INTEGRITY');
      expect(e.key).toBe('a');
      expect(e.failStop).toBe(false);
      const remote = await w[0]!.get('a');
      expect(remote.ok).toBe(false);
      expect(remote.error).toMatchObject({ name: 'IntegrityError', code: 'ERR_KV_INTEGRITY', key: 'a', failStop: false });
      expect(() => main.scan()).toThrow(IntegrityError);
      expect(main.getString('b')).toBe('bravo-value');
      expect((await w[0]!.get('b')).value).toBe('bravo-value');
      await w[0]!.must('put', 'c', 'charlie');
      expect(main.getString('c')).toBe('charlie');
      // Overwriting the key repairs it.
      await w[0]!.must('put', 'a', 'fresh');
      expect(main.getString('a')).toBe('fresh');
    });
  }

  it("two keys' ciphertexts swapped: both fail, neither returns the other's value", async () => {
    const { main, w, arena } = await fixture();
    await w[0]!.must('put', 's1', 'value-one');
    await w[0]!.must('put', 's2', 'value-two');
    await w[0]!.must('put', 'other', 'fine');
    main.sync();
    const a = main.locate('s1')!;
    const b = main.locate('s2')!;
    expect(a.storedBytes).toBe(b.storedBytes);
    const tmp = arena.slice(a.loc, a.loc + a.storedBytes);
    arena.copyWithin(a.loc, b.loc, b.loc + b.storedBytes);
    arena.set(tmp, b.loc);
    expect(integrityErrorOf(() => main.get('s1')).key).toBe('s1');
    expect(integrityErrorOf(() => main.get('s2')).key).toBe('s2');
    expect((await w[0]!.get('s1')).error?.key).toBe('s1');
    expect(main.getString('other')).toBe('fine');
  });

  it('an older ciphertext of the same key restored (rollback) fails', async () => {
    const { main, w, arena } = await fixture();
    await w[0]!.must('put', 'r', 'old-value');
    main.sync();
    const old = main.locate('r')!;
    const oldBytes = arena.slice(old.loc, old.loc + old.storedBytes);
    await w[0]!.must('put', 'r', 'new-value');
    main.sync();
    const cur = main.locate('r')!;
    expect(cur.version).toBeGreaterThan(old.version);
    arena.set(oldBytes, cur.loc);
    expect(integrityErrorOf(() => main.get('r')).key).toBe('r');
    expect((await w[0]!.get('r')).error?.key).toBe('r');
  });
});

describe('kv tamper suite: allocator metadata', () => {
  it('a free-list head redirected onto a live block: the overwritten key fails, nothing else does', async () => {
    const { h, main, w } = await fixture();
    const written = new Map<string, string>();
    const put = async (k: string, v: string): Promise<void> => {
      await w[0]!.must('put', k, v);
      written.set(k, v);
    };
    await put('victim', 'v'.repeat(20));
    await put('x', 'x'.repeat(20));
    await put('x', 'y'.repeat(20)); // displaces x's first block
    main.sync();
    await w[0]!.must('sync'); // every replica passed it: the worker's next write claims it
    await put('filler', 'f'.repeat(60)); // another size class: its record's claim puts x's first block on its free list
    const victim = main.locate('victim')!;
    const heads = new BigInt64Array(h.header);
    const at = (H_HEADS >> 3) + 8 * classOf(victim.storedBytes);
    expect(Number(heads[at]! & 0xffffffffn)).not.toBe(0);
    heads[at] = (heads[at]! & ~0xffffffffn) | BigInt(victim.loc);
    await put('newcomer', 'n'.repeat(20)); // allocated over the victim's block
    main.sync();
    expect(main.locate('newcomer')!.loc).toBe(victim.loc);
    const seen = neverWrongData(main, written);
    expect(seen.failed).toEqual(['victim']);
    expect((await w[0]!.get('victim')).error).toMatchObject({ name: 'IntegrityError', key: 'victim' });
  });

  it('free-list heads and the bump pointer set out of range: repaired or refused, never out of bounds', async () => {
    const { h, main, w } = await fixture();
    const written = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      await w[0]!.must('put', `k${i % 5}`, `value-${i}`);
      written.set(`k${i % 5}`, `value-${i}`);
    }
    main.sync();
    await w[0]!.must('sync');
    const heads = new BigInt64Array(h.header);
    const words = new Int32Array(h.header);
    const c = classOf(main.locate('k0')!.storedBytes);
    // Same-sized values (8 bytes, as above), so the puts allocate from the corrupted class.
    for (const [i, bad] of [0x7ffffff0n, 8n, 0x12345n, BigInt(h.arena.byteLength - 16)].entries()) {
      heads[(H_HEADS >> 3) + 8 * c] = bad;
      await w[0]!.must('put', 'k1', `remote-${i}`);
      written.set('k1', `remote-${i}`);
      heads[(H_HEADS >> 3) + 8 * c] = bad;
      main.put('k2', `local-${i}-`);
      written.set('k2', `local-${i}-`);
    }
    expect(main.stats().allocatorRepairs + ((await w[0]!.must('stats')) as { allocatorRepairs: number }).allocatorRepairs).toBeGreaterThan(0);
    // Bump beyond the arena: a typed refusal, nothing written.
    const bump = Atomics.load(words, H_BUMP >> 2);
    Atomics.store(words, H_BUMP >> 2, h.arena.byteLength + 4096);
    expect(() => main.put('big', 'z'.repeat(2000))).toThrow(ArenaFullError);
    expect(main.has('big')).toBe(false);
    // Bump rolled back (or negative): new blocks overlap live ones, whose gets then fail.
    Atomics.store(words, H_BUMP >> 2, -12345);
    for (let i = 0; i < 5; i++) {
      main.put(`fresh${i}`, 'q'.repeat(100 + i));
      written.set(`fresh${i}`, 'q'.repeat(100 + i));
    }
    Atomics.store(words, H_BUMP >> 2, Math.max(bump, Atomics.load(words, H_BUMP >> 2)));
    const seen = neverWrongData(main, written);
    expect(seen.ok).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(main.getString(`fresh${i}`)).toBe('q'.repeat(100 + i));
  });
});

describe('kv tamper suite: the log', () => {
  it('a flipped byte in a log record fail-stops every replica that applies it; the writer, which never reads it back, continues', async () => {
    const { h, main, w } = await fixture(2);
    await w[0]!.must('put', 'before', 'ok');
    await w[0]!.must('put', 'LOG-TAMPER-KEY', 'secret-value');
    // main and w[1] have not replayed the record yet: flip a byte of its ciphertext (records are AEAD-sealed).
    const recs = records(h);
    const rec = recs[recs.length - 1]!;
    ring(h)[rec.at + 30]! ^= 0x01;
    const e = failStopOf(() => main.get('before'));
    expect(e.message).toMatch(/failed authentication/);
    expect(() => main.get('LOG-TAMPER-KEY')).toThrow(FailStopError);
    expect(() => main.put('x', 'y')).toThrow(FailStopError);
    const other = await w[1]!.get('before');
    expect(other.error).toMatchObject({ name: 'FailStopError', code: 'ERR_NR_FAIL_STOP' });
    expect(other.error!.message).toBe(e.message);
    expect((await w[0]!.get('LOG-TAMPER-KEY')).value).toBe('secret-value');
  });

  it('a replayed log record (an older record copied over a newer one) fail-stops the replica', async () => {
    const { h, main, w } = await fixture();
    await w[0]!.must('put', 'REPLAY-KEY', 'first-val');
    await w[0]!.must('put', 'REPLAY-KEY', 'secnd-val');
    const [a, b] = records(h);
    expect(a!.len).toBe(b!.len);
    ring(h).copyWithin(b!.at, a!.at, a!.at + a!.len); // authentic, but the writer's sequence goes backwards
    const e = failStopOf(() => main.get('REPLAY-KEY'));
    expect(e.message).toMatch(/replayed or reordered|does not extend/);
    expect((await w[0]!.get('REPLAY-KEY')).value).toBe('secnd-val');
  });
});

function failStopOf(f: () => unknown): FailStopError {
  try {
    f();
  } catch (e) {
    if (e instanceof FailStopError) return e;
    throw e;
  }
  throw new Error('expected a FailStopError, got a value');
}

describe('kv batches across workers', () => {
  it('a batch is atomic to readers on other replicas: a scan never sees half of one', async () => {
    const { main, w } = await fixture(2);
    const keys = ['b0', 'b1', 'b2', 'b3'];
    await w[0]!.must('batch', keys.map((key) => ({ type: 'put', key, value: 'v-0' })));
    // One worker writes 200 batches one after another while the other scans in a loop until they are done.
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 200; i++) await w[0]!.must('batch', keys.map((key) => ({ type: 'put', key, value: `v-${i}` })));
      writing = false;
    })();
    const seen = new Set<string>();
    let scans = 0;
    while (writing) {
      const r = await w[1]!.call('scan', { prefix: 'b' });
      scans++;
      expect(r.ok).toBe(true);
      const values = (r.value as { value: Uint8Array }[]).map((e) => Buffer.from(e.value).toString());
      expect(values).toHaveLength(4);
      expect(new Set(values).size).toBe(1);
      seen.add(values[0]!);
    }
    await writer;
    expect(scans).toBeGreaterThan(0);
    expect(main.scan({ prefix: 'b' }).map((e) => e.value.toString())).toEqual(keys.map(() => 'v-200'));
    expect(seen.size).toBeGreaterThan(1); // the scans did overlap the writes
  });
});

describe('kv wrong key in a worker', () => {
  it('attaching with the wrong key fails with WrongKeyError', async () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 16, log: { logBytes: 1 << 14 } });
    const worker = new Worker(workerPath('kv-store-worker'), { workerData: { mode: 'serve', handle: h, key: new Uint8Array(32) } });
    workers.push(worker);
    const r = await new Remote(worker).ready;
    expect(r.attachError).toMatchObject({ name: 'WrongKeyError', code: 'ERR_KV_WRONG_KEY' });
  });
});
