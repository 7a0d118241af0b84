/**
 * The secure KV's structure for a cluster stream (src/kv/stream-structure.ts),
 * applied directly, without NATS: the checks every site's replicas make on
 * a stream record (authenticity, store, a writer's sequences and own ack,
 * the known point), a failure kept in the state, and sealed snapshots.
 * test/cluster-kv.test.ts runs the same on a real cluster.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FailStopError, WrongKeyError } from '../src/kv/index.js';
import { newStreamParams, OP_DELETE, OP_PUT, recordAd, sealRecord, streamCipher, type KvStreamParams, type StreamRecord } from '../src/kv/stream-record.js';
import { kvStreamStructureFor, STREAM_WRITER_WINDOW, type KvStreamState } from '../src/kv/stream-structure.js';
import { checkStructureRef, loadStructure } from '../src/cluster/structure-ref.js';
import { ClusterConfigError } from '../src/cluster/index.js';
import { fileURLToPath } from 'node:url';

const KEY = new Uint8Array(randomBytes(32));
const store = newStreamParams(KEY);
const S = kvStreamStructureFor({ key: KEY, store });
const cipher = streamCipher(store, KEY);

function rec(r: Partial<StreamRecord> & Pick<StreamRecord, 'writer' | 'seq'>, of: KvStreamParams = store): Buffer {
  const c = of === store ? cipher : streamCipher(of, KEY);
  return sealRecord(c, recordAd(of.storeId), { ownAck: 0, knownCount: 0, knownHead: '', cond: null, items: [{ op: OP_PUT, key: `k${r.seq}`, value: Buffer.from(`v${r.seq}`) }], ...r });
}
const put = (key: string, value: string) => ({ op: OP_PUT, key, value: Buffer.from(value) }) as const;
const value = (st: KvStreamState, key: string): string | undefined => S.reads.entry(st, key)?.value.toString();

describe('KV stream structure: a record applied on a replica', () => {
  it('puts, deletes and a condition apply in order; versions are count x 4096 + item index', () => {
    const st = S.create();
    const a = S.writes.record(st, rec({ writer: 1, seq: 1, items: [put('a', '1'), put('b', '2')] }));
    expect(a).toMatchObject({ writer: 1, seq: 1, ok: true, versions: [4096, 4097], failed: null });
    const b = S.writes.record(st, rec({ writer: 1, seq: 2, ownAck: 1, items: [{ op: OP_DELETE, key: 'a' }, { op: OP_DELETE, key: 'zz' }] }));
    expect(b.versions).toEqual([4096, 0]);
    const miss = S.writes.record(st, rec({ writer: 2, seq: 1, cond: { key: 'b', version: 1 }, items: [put('b', 'x')] }));
    expect(miss).toMatchObject({ ok: false, current: 4097, versions: [] });
    const hit = S.writes.record(st, rec({ writer: 2, seq: 2, cond: { key: 'b', version: 4097 }, items: [put('b', 'y')] }));
    expect(hit).toMatchObject({ ok: true, versions: [4 * 4096] });
    expect(value(st, 'a')).toBeUndefined();
    expect(value(st, 'b')).toBe('y');
    expect(S.reads.info(st)).toMatchObject({ count: 4, size: 1 });
  });

  it("one writer's records in flight may arrive in either order (each hole filled once); a replay, an old hole or an unmet own ack fails stop", () => {
    const st = S.create();
    expect(S.writes.record(st, rec({ writer: 7, seq: 3 })).failed).toBeNull();
    expect(S.writes.record(st, rec({ writer: 7, seq: 1 })).failed).toBeNull();
    expect(S.reads.writerAck(st, 7)).toBe(1);
    expect(S.reads.writerApplied(st, 7, 2)).toBe(false);
    expect(S.writes.record(st, rec({ writer: 7, seq: 2 })).failed).toBeNull();
    expect(S.reads.writerAck(st, 7)).toBe(3);
    expect(S.writes.record(st, rec({ writer: 7, seq: 2 })).failed).toMatch(/applied before \(replayed\)/);
    expect(() => S.reads.entry(st, 'k1')).toThrow(FailStopError);

    const far = S.create();
    expect(S.writes.record(far, rec({ writer: 7, seq: 1 + STREAM_WRITER_WINDOW })).failed).toMatch(/more than 8 past it \(records dropped\)/);

    const old = S.create();
    for (let s = 2; s <= STREAM_WRITER_WINDOW; s++) expect(S.writes.record(old, rec({ writer: 7, seq: s })).failed).toBeNull();
    // Record 1 of a writer that never has more than 8 in flight resolved before record 9 was sealed: its hole is a drop.
    expect(S.writes.record(old, rec({ writer: 7, seq: 1 + STREAM_WRITER_WINDOW })).failed).toMatch(/its record 1 is not here/);

    const ack = S.create();
    expect(S.writes.record(ack, rec({ writer: 7, seq: 2, ownAck: 1 })).failed).toMatch(/its record 1 is not here, yet its writer had applied it/);
  });

  it('a forged or changed record, or one of another store under the same key, fails authentication; the failure stays', () => {
    for (const bad of [randomBytes(96), ((b: Buffer) => ((b[30]! ^= 1), b))(rec({ writer: 1, seq: 1 })), rec({ writer: 1, seq: 1 }, newStreamParams(KEY))]) {
      const st = S.create();
      expect(S.writes.record(st, bad).failed).toMatch(/failed authentication/);
      // Later authentic records are ignored, every read throws.
      expect(S.writes.record(st, rec({ writer: 2, seq: 1 })).failed).toMatch(/failed authentication/);
      expect(() => S.reads.info(st)).toThrow(/the KV stream failed verification: a record failed authentication/);
      expect(S.reads.failure(st)).toMatch(/failed authentication/);
    }
  });

  it("a record whose writer had applied more, or another chain, than this replica fails stop (reordered, forked)", () => {
    const st = S.create();
    expect(S.writes.record(st, rec({ writer: 1, seq: 1, knownCount: 1, knownHead: 'x'.repeat(16) })).failed).toMatch(/had applied 1 records arrived after 0/);
    const st2 = S.create();
    S.writes.record(st2, rec({ writer: 1, seq: 1 }));
    expect(S.writes.record(st2, rec({ writer: 2, seq: 1, knownCount: 1, knownHead: 'x'.repeat(16) })).failed).toMatch(/another chain at 1/);
  });

  it('a record that authenticates but is not one the writer encodes (format, counts, lengths, op, padding, own ack) fails stop naming it', () => {
    const ad = recordAd(store.storeId);
    const body = cipher.unbox('record', rec({ writer: 1, seq: 1 }), ad)!; // 52 fixed bytes, then op, key length, 'k1', value length, 'v1', one pad byte
    expect(body.length).toBe(64);
    const edit = (f: (b: Buffer) => Buffer): Buffer => cipher.box('record', f(Buffer.from(body)), ad);
    const cases: [string, Buffer, RegExp][] = [
      ['format', edit((b) => ((b[0] = 2), b)), /unknown format/],
      ['item count + 1', edit((b) => (b.writeUInt16LE(2, 2), b)), /cut short/],
      ['a key length past the end', edit((b) => (b.writeUInt16LE(999, 53), b)), /cut short/],
      ['a value length past the end', edit((b) => (b.writeUInt32LE(999, 57), b)), /cut short/],
      ['an unknown op', edit((b) => ((b[52] = 9), b)), /unknown op/],
      ['a pad byte set', edit((b) => ((b[63] = 1), b)), /bytes past its items/],
      ['32 more zero bytes', edit((b) => Buffer.concat([b, Buffer.alloc(32)])), /bytes past its items/],
      ['cut to 32 bytes', edit((b) => b.subarray(0, 32)), /a record is cut short/],
      ['own ack not below its sequence', edit((b) => (b.writeDoubleLE(1, 20), b)), /a record has a field out of range/],
      ['writer id 0', edit((b) => (b.writeDoubleLE(0, 4), b)), /a record has a field out of range/],
      ['a fractional sequence', edit((b) => (b.writeDoubleLE(1.5, 12), b)), /a record has a field out of range/],
    ];
    for (const [name, bad, why] of cases) {
      const st = S.create();
      expect(S.writes.record(st, bad).failed, name).toMatch(why);
      expect(() => S.reads.entry(st, 'k1'), name).toThrow(FailStopError);
    }
  });

  it('a wrong key is WrongKeyError when the structure is made', () => {
    expect(() => kvStreamStructureFor({ key: new Uint8Array(32), store })).toThrow(WrongKeyError);
  });
});

describe('KV stream structure: sealed snapshots', () => {
  it('round trip (holes included) to an equal digest; the restored state goes on; changed, prefix-edited or another store refused', () => {
    const st = S.create();
    S.writes.record(st, rec({ writer: 1, seq: 1 }));
    S.writes.record(st, rec({ writer: 2, seq: 2 }));
    const snap = S.snapshot!(st);
    expect(Buffer.from(snap).includes(Buffer.from('k1'))).toBe(false);
    const back = S.restore!(snap);
    expect(S.digest!(back)).toBe(S.digest!(st));
    expect(value(back, 'k2')).toBe('v2');
    // Writer 2's hole at 1 is still open once, and closed after.
    expect(S.writes.record(back, rec({ writer: 2, seq: 1 })).failed).toBeNull();
    expect(S.writes.record(back, rec({ writer: 2, seq: 1 })).failed).toMatch(/replayed/);

    const flipped = Buffer.from(snap);
    flipped[flipped.length - 5]! ^= 1;
    expect(() => S.restore!(flipped)).toThrow(/failed authentication/);
    const count = Buffer.from(snap);
    count.writeDoubleLE(7, 4); // the count in clear is in the AD
    expect(() => S.restore!(count)).toThrow(/failed authentication/);
    const other = kvStreamStructureFor({ key: KEY, store: newStreamParams(KEY) });
    expect(() => other.restore!(snap)).toThrow(/failed authentication/);
  });
});

describe("the cluster's structure loader: a structure made from private data", () => {
  const module = fileURLToPath(new URL('../dist/src/kv/stream-structure.js', import.meta.url));
  it('calls a function export with the ref\'s data (the key reaches the bridge so); data for a structure export, or a factory that throws, is a typed error', async () => {
    const s = await loadStructure(checkStructureRef({ module, export: 'kvStreamStructureFor', data: { key: KEY, store } }));
    expect(s.fingerprint).toBe(S.fingerprint);
    expect(s.name).toBe(S.name);
    // The compiled module's class (this file imports the TypeScript one): by name and code.
    await expect(loadStructure({ module, export: 'kvStreamStructureFor', data: { key: new Uint8Array(32), store } })).rejects.toMatchObject({ name: 'WrongKeyError', code: 'ERR_KV_WRONG_KEY' });
    const structures = fileURLToPath(new URL('../dist/src/nr/structures/index.js', import.meta.url));
    await expect(loadStructure({ module: structures, export: 'HashMap', data: 1 })).rejects.toBeInstanceOf(ClusterConfigError);
    expect(() => checkStructureRef({ module, export: 'kvStreamStructureFor', date: 1 })).toThrow(ClusterConfigError);
  });
});
