/**
 * The KV store's API on one thread: semantics against a sequential Map model
 * (fast-check), batch atomicity, scan order and limits, CAS, typed errors for
 * bad input and the wrong key, and the plaintext variant.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachKv,
  createKv,
  FailStopError,
  KvConfigError,
  KvSizeError,
  KvTypeError,
  kvPeers,
  WrongKeyError,
  type BatchOp,
  type KvStore,
} from '../src/kv/index.js';

const KEY = new Uint8Array(32).fill(7);
const cheap = { opsLimit: 1, memLimit: 8192 };
const open: KvStore[] = [];

function store(encrypt = true, extra: Parameters<typeof createKv>[0] = {}): KvStore {
  const h = createKv({ key: encrypt ? KEY : undefined, encrypt, arenaBytes: 1 << 20, log: { logBytes: 1 << 16 }, ...extra });
  const s = attachKv(h, encrypt ? { key: KEY } : {});
  open.push(s);
  return s;
}

afterEach(() => {
  for (const s of open.splice(0)) s.detach();
});

const hex = (b: Uint8Array | string): string => Buffer.from(typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('hex');

describe('kv api', () => {
  it('puts, gets, deletes, scans and reports versions', () => {
    for (const encrypt of [true, false]) {
      const s = store(encrypt);
      expect(s.get('a')).toBeUndefined();
      const v1 = s.put('a', 'alpha');
      const v2 = s.put(new Uint8Array([0x62]), Buffer.from([1, 2, 3]));
      expect(v2).toBeGreaterThan(v1);
      expect(s.getString('a')).toBe('alpha');
      expect(s.get('b')).toEqual(Buffer.from([1, 2, 3]));
      expect(s.has('a')).toBe(true);
      expect(s.version('a')).toBe(v1);
      expect(s.size()).toBe(2);
      expect(s.exchange('a', 'beta')?.toString()).toBe('alpha');
      expect(s.delete('a')).toBe(true);
      expect(s.delete('a')).toBe(false);
      expect(s.version('a')).toBe(0);
      expect(s.stats()).toMatchObject({ keys: 1, encrypted: encrypt, failure: null });
    }
  });

  it('async forms agree with the sync ones', async () => {
    const s = store();
    const [va, vb] = await Promise.all([s.putAsync('a', '1'), s.putAsync('b', '2')]);
    expect(vb).toBeGreaterThan(va);
    expect((await s.getAsync('a'))?.toString()).toBe('1');
    expect(await s.hasAsync('b')).toBe(true);
    expect(await s.sizeAsync()).toBe(2);
    expect((await s.exchangeAsync('a', '3'))?.toString()).toBe('1');
    expect(await s.compareAndSetAsync('a', '3', '4')).toMatchObject({ ok: true });
    expect(await s.compareAndSetAsync('a', '3', '5')).toMatchObject({ ok: false, value: Buffer.from('4') });
    expect(await s.batchAsync([{ type: 'put', key: 'c', value: 'x' }, { type: 'delete', key: 'b' }])).toHaveLength(2);
    expect((await s.scanAsync()).map((e) => e.key.toString())).toEqual(['a', 'c']);
    expect(await s.deleteAsync('c')).toBe(true);
  });

  it('compare-and-set by version, by value and on absence', () => {
    const s = store();
    expect(s.compareAndSet('k', undefined, 'one')).toMatchObject({ ok: true });
    const v = s.version('k');
    expect(s.compareAndSet('k', 0, 'x')).toEqual({ ok: false, version: v });
    expect(s.compareAndSet('k', v + 1000, 'x')).toEqual({ ok: false, version: v });
    const r = s.compareAndSet('k', v, 'two');
    expect(r.ok).toBe(true);
    expect(s.getString('k')).toBe('two');
    expect(s.compareAndSet('k', 'one', 'three')).toEqual({ ok: false, version: r.version, value: Buffer.from('two') });
    expect(s.compareAndSet('k', 'two', 'three')).toMatchObject({ ok: true });
    expect(s.compareAndSet('nope', 'x', 'y')).toEqual({ ok: false, version: 0, value: undefined });
    expect(s.getString('k')).toBe('three');
  });

  it('scans in byte order with ranges, prefixes and limits', () => {
    const s = store();
    const keys = ['b', 'a', 'ab', 'abc', 'é', 'z', '', 'aa'];
    for (const k of keys) s.put(k, `v-${k}`);
    s.put(new Uint8Array([0xff, 0x00]), 'bin');
    const all = s.scan({ limit: 100 }).map((e) => hex(e.key));
    const expected = [...keys.map((k) => hex(k)), 'ff00'].sort((x, y) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')));
    expect(all).toEqual(expected);
    expect(s.scan({ prefix: 'a' }).map((e) => e.key.toString())).toEqual(['a', 'aa', 'ab', 'abc']);
    expect(s.scan({ start: 'ab', end: 'z' }).map((e) => e.key.toString())).toEqual(['ab', 'abc', 'b']); // 'é' is c3 a9: after 'z'
    expect(s.scan({ start: 'a', limit: 2 }).map((e) => e.value.toString())).toEqual(['v-a', 'v-aa']);
    expect(s.scan({ limit: 0 })).toEqual([]);
  });

  it('a batch is atomic: a bad op anywhere writes nothing', () => {
    const s = store(true, { maxValueBytes: 100 });
    s.put('keep', 'k');
    const before = s.stats().arenaUsedBytes;
    expect(() => s.batch([{ type: 'put', key: 'x', value: 'ok' }, { type: 'put', key: 'y', value: 'z'.repeat(101) }])).toThrow(KvSizeError);
    expect(() => s.batch([{ type: 'put', key: 'x', value: 'ok' }, { type: 'nope', key: 'y' } as unknown as BatchOp])).toThrow(KvTypeError);
    expect(s.has('x')).toBe(false);
    expect(s.stats().arenaUsedBytes).toBe(before);
    s.batch([{ type: 'put', key: 'x', value: '1' }, { type: 'put', key: 'x', value: '2' }, { type: 'delete', key: 'keep' }]);
    expect(s.getString('x')).toBe('2');
    expect(s.has('keep')).toBe(false);
  });

  it('rejects bad input with typed errors and writes nothing', async () => {
    const s = store(true, { maxKeyBytes: 8, maxValueBytes: 16 });
    s.put('k', 'v');
    const digest = s.digest();
    expect(() => s.put('123456789', 'v')).toThrow(KvSizeError);
    expect(() => s.put('k', 'x'.repeat(17))).toThrow(KvSizeError);
    expect(() => s.put('ééééé', 'v')).toThrow(KvSizeError); // 10 UTF-8 bytes
    expect(() => s.put(42 as unknown as string, 'v')).toThrow(KvTypeError);
    expect(() => s.put('k', { a: 1 } as unknown as string)).toThrow(KvTypeError);
    expect(() => s.put(null as unknown as string, 'v')).toThrow(KvTypeError);
    expect(() => s.get(undefined as unknown as string)).toThrow(KvTypeError);
    expect(() => s.scan({ limit: -1 })).toThrow(KvTypeError);
    expect(() => s.compareAndSet('k', -1, 'v')).toThrow(KvTypeError);
    expect(() => s.batch('nope' as unknown as BatchOp[])).toThrow(KvTypeError);
    // Unknown options and fields are errors, not ignored.
    expect(() => s.scan({ limt: 5 } as never)).toThrow(/unknown scan option "limt"/);
    expect(() => s.batch([{ type: 'put', key: 'k', value: 'w', version: 3 } as never])).toThrow(/unknown field "version" in a batch put op/);
    expect(() => s.batch([{ type: 'put', key: 'a', value: 'w' }, { type: 'delete', key: 'k', value: 'x' } as never])).toThrow(KvTypeError);
    await expect(s.batchAsync([{ type: 'delete', key: 'k', ttl: 1 } as never])).rejects.toThrow(KvTypeError);
    expect(s.digest()).toBe(digest);
    expect(s.getString('k')).toBe('v');
    const e = (() => {
      try {
        s.put('k', 'x'.repeat(17));
      } catch (err) {
        return err as KvSizeError;
      }
    })();
    expect(e?.code).toBe('ERR_KV_TOO_LARGE');
    expect(() => createKv({ key: KEY, maxValueBytes: 0 })).toThrow(KvConfigError);
    expect(() => createKv({ key: new Uint8Array(16) })).toThrow(KvTypeError);
    expect(() => createKv({})).toThrow(KvTypeError);
    expect(() => attachKv({} as never)).toThrow(KvConfigError);
    // The log's own options are this module's errors too.
    expect(() => createKv({ key: KEY, log: { logBytes: 5000 } })).toThrow(KvConfigError);
    expect(() => createKv({ key: KEY, log: { bogus: 1 } as never })).toThrow(KvConfigError);
  });

  it('the wrong key or passphrase fails at attach with WrongKeyError', () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 16, log: { logBytes: 1 << 14 } });
    const wrong = new Uint8Array(32).fill(8);
    expect(() => attachKv(h, { key: wrong })).toThrow(WrongKeyError);
    expect(() => attachKv(h, { passphrase: 'x' })).toThrow(KvTypeError);
    const p = createKv({ passphrase: 'correct horse', pwhash: cheap, arenaBytes: 1 << 16, log: { logBytes: 1 << 14 } });
    let err: unknown;
    try {
      attachKv(p, { passphrase: 'battery staple' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WrongKeyError);
    expect((err as WrongKeyError).code).toBe('ERR_KV_WRONG_KEY');
    const s = attachKv(p, { passphrase: 'correct horse' });
    open.push(s);
    s.put('a', 'b');
    expect(s.getString('a')).toBe('b');
    // The key never enters shared memory.
    const shared = Buffer.concat([Buffer.from(h.header), Buffer.from(h.arena), Buffer.from(h.nr.memory.buffer)]);
    expect(shared.includes(Buffer.from(KEY))).toBe(false);
  });

  it('matches a sequential Map model (fast-check)', () => {
    const keyArb = fc.constantFrom<string | Uint8Array>('a', 'ab', 'b', 'é', '', 'zz', new Uint8Array([0xff]), new Uint8Array([0, 1]));
    const valArb = fc.oneof(fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 40 }));
    const opArb = fc.oneof(
      fc.record({ t: fc.constant('put' as const), k: keyArb, v: valArb }),
      fc.record({ t: fc.constant('del' as const), k: keyArb }),
      fc.record({ t: fc.constant('get' as const), k: keyArb }),
      fc.record({ t: fc.constant('xchg' as const), k: keyArb, v: valArb }),
      fc.record({ t: fc.constant('casv' as const), k: keyArb, v: valArb, stale: fc.boolean() }),
      fc.record({ t: fc.constant('casx' as const), k: keyArb, e: valArb, v: valArb, useCurrent: fc.boolean() }),
      fc.record({
        t: fc.constant('batch' as const),
        ops: fc.array(fc.oneof(fc.record({ type: fc.constant('put' as const), key: keyArb, value: valArb }), fc.record({ type: fc.constant('delete' as const), key: keyArb })), { maxLength: 5 }),
      }),
      fc.record({ t: fc.constant('scan' as const), a: fc.option(keyArb, { nil: undefined }), b: fc.option(keyArb, { nil: undefined }), p: fc.option(keyArb, { nil: undefined }), n: fc.nat(10) }),
    );
    const bytes = (v: string | Uint8Array): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { maxLength: 50 }), (encrypt, ops) => {
        const s = store(encrypt);
        const model = new Map<string, { v: Buffer; ver: number }>();
        const id = (k: string | Uint8Array): string => bytes(k).toString('hex');
        for (const op of ops) {
          switch (op.t) {
            case 'put': {
              const ver = s.put(op.k, op.v);
              model.set(id(op.k), { v: bytes(op.v), ver });
              break;
            }
            case 'del':
              expect(s.delete(op.k)).toBe(model.delete(id(op.k)));
              break;
            case 'get':
              expect(s.get(op.k)).toEqual(model.get(id(op.k))?.v);
              expect(s.version(op.k)).toBe(model.get(id(op.k))?.ver ?? 0);
              break;
            case 'xchg': {
              expect(s.exchange(op.k, op.v)).toEqual(model.get(id(op.k))?.v);
              model.set(id(op.k), { v: bytes(op.v), ver: s.version(op.k) });
              break;
            }
            case 'casv': {
              const cur = model.get(id(op.k))?.ver ?? 0;
              const r = s.compareAndSet(op.k, op.stale ? cur + 1 : cur, op.v);
              expect(r.ok).toBe(!op.stale);
              if (r.ok) model.set(id(op.k), { v: bytes(op.v), ver: r.version });
              else expect(r.version).toBe(cur);
              break;
            }
            case 'casx': {
              const cur = model.get(id(op.k));
              const expected = op.useCurrent && cur ? cur.v : bytes(op.e);
              const r = s.compareAndSet(op.k, expected, op.v);
              const should = cur !== undefined && cur.v.equals(expected);
              expect(r.ok).toBe(should);
              if (r.ok) model.set(id(op.k), { v: bytes(op.v), ver: r.version });
              else expect(r.value).toEqual(cur?.v);
              break;
            }
            case 'batch': {
              const vers = s.batch(op.ops);
              op.ops.forEach((b, i) => {
                if (b.type === 'put') model.set(id(b.key), { v: bytes(b.value), ver: vers[i]! });
                else model.delete(id(b.key));
              });
              break;
            }
            case 'scan': {
              const got = s.scan({ start: op.a, end: op.b, prefix: op.p, limit: op.n }).map((e) => [e.key.toString('hex'), e.value.toString('hex'), e.version]);
              const lo = op.a === undefined ? undefined : bytes(op.a);
              const hi = op.b === undefined ? undefined : bytes(op.b);
              const pre = op.p === undefined ? undefined : bytes(op.p);
              const want = [...model.entries()]
                .map(([k, e]) => [Buffer.from(k, 'hex'), e] as const)
                .filter(([k]) => (lo === undefined || Buffer.compare(k, lo) >= 0) && (hi === undefined || Buffer.compare(k, hi) < 0))
                .filter(([k]) => pre === undefined || k.subarray(0, pre.length).equals(pre))
                .sort((x, y) => Buffer.compare(x[0], y[0]))
                .slice(0, op.n)
                .map(([k, e]) => [k.toString('hex'), e.v.toString('hex'), e.ver]);
              expect(got).toEqual(want);
              break;
            }
          }
        }
        expect(s.size()).toBe(model.size);
        s.detach();
        open.pop();
      }),
      { numRuns: 300 },
    );
  });

  it('a fail-stopped replica refuses every op with FailStopError', () => {
    const s = store();
    s.put('a', '1');
    // Feed the structure a record that failed verification, as a tampered log would.
    const rec = { fromLog: true, bad: 'log record failed authentication', writer: 1, seq: 1, knownCount: 0, knownHead: '', auth: '', cond: 0, condKey: '', condVersion: 0, claim: 0, items: [] };
    expect(() => (s.replica as unknown as { write(n: string, r: unknown): unknown }).write('apply', rec)).toThrow(FailStopError);
    expect(() => s.get('a')).toThrow(FailStopError);
    expect(() => s.put('b', '2')).toThrow(FailStopError);
    expect(() => s.scan()).toThrow(/log record failed authentication/);
  });
});

describe('kv freshness peers', () => {
  it('a peer serves one view in a thread: a second attach with it, or one after its view detached, is refused; a failed attach gives it back', () => {
    const h = createKv({ key: KEY, arenaBytes: 1 << 20, log: { logBytes: 1 << 16, replicas: 4 } });
    const peers = kvPeers(3);
    const a = attachKv(h, { key: KEY, peer: peers[0] });
    expect(() => attachKv(h, { key: KEY, peer: peers[0] })).toThrow(KvConfigError);
    expect(() => attachKv(h, { key: KEY, peer: peers[0] })).toThrow(/already used by a store or client in this thread/);
    a.detach();
    expect(() => attachKv(h, { key: KEY, peer: peers[0] })).toThrow(/already used/); // its ports are closed now
    // An attach that fails after taking its peer (a bad replica option) leaves the peer usable.
    expect(() => attachKv(h, { key: KEY, peer: peers[1], replica: { bogus: 1 } as never })).toThrow();
    const b = attachKv(h, { key: KEY, peer: peers[1] });
    const c = attachKv(h, { key: KEY, peer: peers[2] });
    b.put('k', 'v');
    expect(c.getString('k')).toBe('v');
    b.detach();
    c.detach();
  });
});

describe('value AEAD calls', () => {
  it('use sodium-native\'s binding directly (it passed the load-time self-test) and agree with the wrappers', async () => {
    const { aeadDirect } = await import('../src/kv/crypto.js');
    expect(aeadDirect).toBe(true);
    const key = new Uint8Array(32).fill(3);
    const s = attachKv(createKv({ key, arenaBytes: 1 << 20 }), { key });
    for (const n of [0, 1, 100, 1024, 5000]) {
      const v = Buffer.alloc(n, n & 0xff);
      s.put(`k${n}`, v);
      expect(s.get(`k${n}`)!.equals(v)).toBe(true);
    }
    s.detach();
  });
});
